-- note-etl: dashboard views over the warehouse's Parquet tables (DuckDB).
--
-- ${WAREHOUSE} stands for the warehouse root. `note-etl views` replaces it with the root's
-- absolute path and writes the views into warehouse/note_etl.duckdb. With any DuckDB:
--
--   sed "s|\${WAREHOUSE}|$PWD/warehouse|g" sql/views.sql | duckdb warehouse/note_etl.duckdb
--
-- A placeholder rather than a DuckDB variable: a database file keeps a view's SQL text but
-- not the session's variables, so the path has to be written into the view itself.
-- Globs are expanded each time a view is queried: partitions added by later runs show up
-- without recreating the views; moving the warehouse does need them recreated.
-- DuckDB refuses a view over a glob that matches no file (a table never written yet);
-- `note-etl views` writes an empty view with the table's columns instead.
--
-- etl/views.py relies on each contract table's view being named after the table and
-- reading `${WAREHOUSE}/<table>/`.

-- 1. The contract tables (DESIGN.md section 5), one view each. Partition folders are plain
--    month names, not key=value, so hive partitioning stays off and adds no column.
--    A run writes `articles` last, so an article's row marks it committed: the views of the
--    other per-article tables keep only rows of committed articles, and a reader between a
--    killed run and the next one never sees segments of an article that is not there yet
--    (warehouse.py's docstring says what else such a reader may see).

CREATE OR REPLACE VIEW articles AS
    SELECT * FROM read_parquet('${WAREHOUSE}/articles/**/*.parquet', hive_partitioning = false);

CREATE OR REPLACE VIEW segments AS
    SELECT * FROM read_parquet('${WAREHOUSE}/segments/**/*.parquet', hive_partitioning = false)
    WHERE article_id IN (SELECT article_id FROM articles);

CREATE OR REPLACE VIEW sentences AS
    SELECT * FROM read_parquet('${WAREHOUSE}/sentences/**/*.parquet', hive_partitioning = false)
    WHERE article_id IN (SELECT article_id FROM articles);

CREATE OR REPLACE VIEW speakers AS
    SELECT * FROM read_parquet('${WAREHOUSE}/speakers/**/*.parquet', hive_partitioning = false)
    WHERE article_id IN (SELECT article_id FROM articles);

CREATE OR REPLACE VIEW segment_topics AS
    SELECT * FROM read_parquet('${WAREHOUSE}/segment_topics/**/*.parquet', hive_partitioning = false)
    WHERE article_id IN (SELECT article_id FROM articles);

CREATE OR REPLACE VIEW topics AS
    SELECT * FROM read_parquet('${WAREHOUSE}/topics/**/*.parquet', hive_partitioning = false);

CREATE OR REPLACE VIEW keyphrases AS
    SELECT * FROM read_parquet('${WAREHOUSE}/keyphrases/**/*.parquet', hive_partitioning = false)
    WHERE article_id IN (SELECT article_id FROM articles);

CREATE OR REPLACE VIEW runs AS
    SELECT * FROM read_parquet('${WAREHOUSE}/runs/**/*.parquet', hive_partitioning = false);

CREATE OR REPLACE VIEW rejects AS
    SELECT * FROM read_parquet('${WAREHOUSE}/rejects/**/*.parquet', hive_partitioning = false);

-- 2. Dashboard views.
--
-- `chars` is length(text): characters of the clean text without a speaker label, the
-- measure of speakers.char_count. Months are publication months in Japan time (note
-- publishes in JST, and the warehouse's partition folders use the same months);
-- 'undated' when the source gave no date.

-- content_segments: one row per segment that carries article content, in reading order.
-- Site chrome (boilerplate, link, image_alt) is left out. The inner join on `articles`
-- keeps segments of an article whose commit did not finish out of sight: the `articles`
-- row is written last, so it marks the article as committed.
CREATE OR REPLACE VIEW content_segments AS
SELECT
    s.article_id,
    a.title AS article_title,
    a.published_at,
    coalesce(strftime(timezone('Asia/Tokyo', a.published_at), '%Y-%m'), 'undated') AS month,
    s.segment_id,
    s.ordinal,
    s.kind,
    s.section,
    s.section_path,
    s.label,
    s.text,
    length(s.text) AS chars,
    s.speaker_id,
    s.speaker_name,
    sp.speaker_key,
    sp.affiliation AS speaker_affiliation,
    sp.job_title AS speaker_job_title,
    s.speaker_role,
    s.speaker_method,
    s.speaker_confidence,
    s.facet,
    f.label_ja AS facet_label_ja,
    f.label_en AS facet_label_en,
    s.subjects
FROM segments AS s
JOIN articles AS a ON a.article_id = s.article_id
LEFT JOIN speakers AS sp ON sp.speaker_id = s.speaker_id
LEFT JOIN topics AS f ON f.dimension = 'facet' AND f.topic_id = s.facet
WHERE s.kind NOT IN ('boilerplate', 'link', 'image_alt')
ORDER BY s.article_id, s.ordinal;

-- speaker_topics: one row per speaker (of an article) and subject they speak about.
-- Counts what the person says: segments attributed to them with a speaking role, not
-- their caption or profile line. Subjects are multi-label, so a segment counts for each
-- of its subjects and a speaker's shares can add up to more than 1. To compare one person
-- across articles, group by speaker_key.
CREATE OR REPLACE VIEW speaker_topics AS
WITH spoken AS (
    SELECT * FROM content_segments WHERE speaker_id IS NOT NULL AND speaker_role <> 'none'
),
per_speaker AS (
    SELECT speaker_id, sum(chars) AS speaker_chars FROM spoken GROUP BY speaker_id
),
tagged AS (
    SELECT article_id, article_title, speaker_id, speaker_name, speaker_key, chars,
        unnest(subjects) AS subject
    FROM spoken
)
SELECT
    t.article_id,
    t.article_title,
    t.speaker_id,
    t.speaker_name,
    t.speaker_key,
    t.subject,
    l.label_ja AS subject_label_ja,
    l.label_en AS subject_label_en,
    count(*) AS segments,
    sum(t.chars)::BIGINT AS chars,
    sum(t.chars) / nullif(any_value(p.speaker_chars), 0) AS share_of_speaker_chars
FROM tagged AS t
JOIN per_speaker AS p ON p.speaker_id = t.speaker_id
LEFT JOIN topics AS l ON l.dimension = 'subject' AND l.topic_id = t.subject
GROUP BY t.article_id, t.article_title, t.speaker_id, t.speaker_name, t.speaker_key, t.subject,
    l.label_ja, l.label_en
ORDER BY t.article_id, t.speaker_id, segments DESC, t.subject;

-- article_overview: one row per article. facet_share_<facet> is the share of the article's
-- content characters (segments with a facet) in that facet: the eight shares add up to 1,
-- or are all NULL when no segment has a facet. top_subjects: up to three subjects by
-- segments, then characters, then id.
CREATE OR REPLACE VIEW article_overview AS
WITH per_article AS (
    SELECT
        article_id,
        count(*) AS content_segments,
        sum(chars)::BIGINT AS content_chars,
        sum(chars) FILTER (WHERE speaker_id IS NOT NULL AND speaker_role <> 'none')::BIGINT AS spoken_chars,
        sum(chars) FILTER (WHERE facet IS NOT NULL) AS facet_chars,
        sum(chars) FILTER (WHERE facet = 'intro') AS intro_chars,
        sum(chars) FILTER (WHERE facet = 'career') AS career_chars,
        sum(chars) FILTER (WHERE facet = 'current_work') AS current_work_chars,
        sum(chars) FILTER (WHERE facet = 'motivation') AS motivation_chars,
        sum(chars) FILTER (WHERE facet = 'appeal') AS appeal_chars,
        sum(chars) FILTER (WHERE facet = 'culture') AS culture_chars,
        sum(chars) FILTER (WHERE facet = 'message') AS message_chars,
        sum(chars) FILTER (WHERE facet = 'other') AS other_chars
    FROM content_segments
    GROUP BY article_id
),
per_subject AS (
    SELECT t.article_id, t.subject, coalesce(any_value(l.label_ja), t.subject) AS label_ja,
        count(*) AS segments, sum(t.chars) AS chars
    FROM (SELECT article_id, chars, unnest(subjects) AS subject FROM content_segments) AS t
    LEFT JOIN topics AS l ON l.dimension = 'subject' AND l.topic_id = t.subject
    GROUP BY t.article_id, t.subject
),
top AS (
    SELECT
        article_id,
        list(subject ORDER BY segments DESC, chars DESC, subject)[1:3] AS top_subjects,
        list(label_ja ORDER BY segments DESC, chars DESC, subject)[1:3] AS top_subject_labels_ja
    FROM per_subject
    GROUP BY article_id
)
SELECT
    a.article_id,
    a.title,
    a.account,
    a.url,
    a.source_format,
    a.source_path,
    a.published_at,
    coalesce(strftime(timezone('Asia/Tokyo', a.published_at), '%Y-%m'), 'undated') AS month,
    a.speakers,
    a.speaker_count,
    coalesce(p.content_segments, 0) AS content_segments,
    coalesce(p.content_chars, 0) AS content_chars,
    coalesce(p.spoken_chars, 0) AS spoken_chars,
    coalesce(p.intro_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_intro,
    coalesce(p.career_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_career,
    coalesce(p.current_work_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_current_work,
    coalesce(p.motivation_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_motivation,
    coalesce(p.appeal_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_appeal,
    coalesce(p.culture_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_culture,
    coalesce(p.message_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_message,
    coalesce(p.other_chars, 0) / nullif(p.facet_chars, 0) AS facet_share_other,
    coalesce(t.top_subjects, []::VARCHAR[]) AS top_subjects,
    coalesce(t.top_subject_labels_ja, []::VARCHAR[]) AS top_subject_labels_ja
FROM articles AS a
LEFT JOIN per_article AS p ON p.article_id = a.article_id
LEFT JOIN top AS t ON t.article_id = a.article_id
ORDER BY a.published_at DESC NULLS LAST, a.article_id;

-- topic_trends: one row per subject and publication month. month_start is the month's
-- first day as a DATE for time axes (NULL for 'undated').
CREATE OR REPLACE VIEW topic_trends AS
SELECT
    t.month,
    -- try_strptime: a month past year 9999 (a date stored before dates were checked) is
    -- NULL here rather than an error of the whole view.
    CASE WHEN t.month = 'undated' THEN NULL ELSE try_strptime(t.month || '-01', '%Y-%m-%d')::DATE END
        AS month_start,
    t.subject,
    l.label_ja AS subject_label_ja,
    l.label_en AS subject_label_en,
    count(DISTINCT t.article_id) AS articles,
    count(*) AS segments,
    sum(t.chars)::BIGINT AS chars
FROM (SELECT article_id, month, chars, unnest(subjects) AS subject FROM content_segments) AS t
LEFT JOIN topics AS l ON l.dimension = 'subject' AND l.topic_id = t.subject
GROUP BY t.month, t.subject, l.label_ja, l.label_en
ORDER BY t.month, segments DESC, t.subject;
