"""A deterministic, seeded corpus of note articles for the benchmark.

Every article is built from scratch: sentences recombined from the development samples
(``../shared/samples/text``, ``../shared/seed``) and from templates with slots (years,
invented organisations, fields, services), spoken by people drawn from a pool of family
names, given names, invented affiliations and job titles. The seven article formats of the
samples are all produced (seminar report with self-introductions and captions, labelled
Q&A, unlabelled Q&A, 対談 with inline labels, 座談会 with 【name】, announcement, essay),
each rendered as page text (``.txt``), a note page (``.html``, the markup of
``samples/html/seed_note.html``) or a note v3 API answer (``.json``, the shape of
``samples/json/seed_note_api.json``). File sizes run from 2 KB to 60 KB (log-uniform,
so most are short, as on note), publication dates spread over 24 months, and there are
twelve accounts.

Articles are generated one after another from one random generator and written until the
corpus reaches ``total_mb`` (MB = 10**6 bytes of files), so a smaller corpus with the same
seed is exactly a prefix of a larger one: the benchmark uses that to compare peak memory
at two sizes on the same articles.

Layout: ``<out>/<text|html|json>/<account>/<name>`` plus ``<out>/.manifest.json`` (hidden,
so a run does not take it for an input). A folder that already holds files but no manifest
is refused (nothing is overwritten there).

>>> import tempfile
>>> paths = make_corpus(tempfile.mkdtemp(), 0.05, seed=1)
>>> sorted({p.suffix for p in paths}) == ['.html', '.json', '.txt']
True

CLI: ``python bench/make_corpus.py OUT_DIR --mb 20 [--seed 0] [--formats text,html,note_api]``.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import random
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

__all__ = ["ARTICLE_FORMATS", "INPUT_FORMATS", "make_corpus"]

GENERATOR_VERSION: Final = 2
INPUT_FORMATS: Final = ("text", "html", "note_api")
ARTICLE_FORMATS: Final = (
    "seminar_report",
    "qa_labeled",
    "qa_unlabeled",
    "dialogue_labeled",
    "roundtable",
    "announcement",
    "essay_author",
)
# How often each article format appears: interviews and reports dominate note's
# recruiting/PR accounts; announcements are short and fewer.
_FORMAT_WEIGHTS: Final = (20, 20, 15, 10, 15, 8, 12)
_EXTENSION: Final = {"text": ".txt", "html": ".html", "note_api": ".json"}
_FOLDER: Final = {"text": "text", "html": "html", "note_api": "json"}
MIN_BYTES: Final = 2_000
MAX_BYTES: Final = 60_000
_JST: Final = timezone(timedelta(hours=9))
_EPOCH: Final = datetime(2023, 1, 1, tzinfo=_JST)
_DAYS: Final = 730  # ~24 months of publication dates

_SHARED: Final = Path(__file__).resolve().parents[2] / "shared"
_SAMPLE_TEXTS: Final = (
    *sorted((_SHARED / "samples" / "text").glob("*.txt")),
    _SHARED / "seed" / "note_article.txt",
)
# Speakers of the samples: replaced by the article's own people when a sample sentence is reused.
_SAMPLE_NAMES: Final = ("井下", "堀井", "山田", "佐藤", "鈴木", "田中", "伊藤", "加藤", "渡辺", "小林")

_SAMPLE_ORGS: Final = re.compile("地域デジタル推進庁|デジタル庁|株式会社ソラノメ|ソラノメ|海風市")
_DIGITS: Final = re.compile("[0-9]+")

# -- Pools. All people, organisations and services are invented. ---------------------------
FAMILY_NAMES: Final = (
    "佐々木", "高橋", "中村", "小川", "松本", "井上", "木村", "林", "清水", "山口",
    "森", "池田", "橋本", "石川", "前田", "藤田", "岡田", "後藤", "長谷川", "村上",
    "近藤", "石井", "坂本", "遠藤", "青木", "藤井", "西村", "福田", "太田", "三浦",
    "藤原", "岡本", "松田", "中島", "原田", "小野", "竹内", "金子", "和田", "中野",
    "原", "田村", "上田", "森田", "柴田", "酒井", "工藤", "横山", "宮崎", "宮本",
    "内田", "高木", "安藤", "谷口", "大野", "丸山", "今井", "河野", "藤本", "村田",
)  # fmt: skip
GIVEN_NAMES: Final = (
    "陽菜", "結衣", "美咲", "葵", "さくら", "彩", "真由", "千尋", "奈々", "琴音",
    "翔太", "大輔", "健一", "拓也", "蓮", "悠真", "直樹", "亮", "誠", "和也",
)  # fmt: skip
ORGANISATIONS: Final = (
    "地域デジタル推進庁", "株式会社ソラノメ", "海風市", "株式会社ミナトラボ", "北浜町",
    "青葉データ研究所", "株式会社クモイ技研", "山並県", "みどり野市", "株式会社トモシビ",
    "一般社団法人まちのデータ協会", "株式会社ハレノヒ物流",
)  # fmt: skip
UNITS: Final = (
    "データ班", "開発班", "広報班", "利用者体験グループ", "申請サービス改善チーム",
    "省庁業務サービスグループ", "ファクト&データユニット", "市民課", "情報政策課", "防災企画課",
    "データ配信チーム", "プロダクト開発部", "人事部", "経営企画室", "地域連携チーム",
    "基盤システム課", "子育て支援課", "観光振興課",
)  # fmt: skip
JOB_TITLES: Final = (
    "総括担当", "エンジニア", "データアナリスト", "デザイナー", "プロダクトマネージャー",
    "人事担当", "広報担当", "主任", "係長", "リサーチャー", "テックリード", "企画担当",
)  # fmt: skip
FIELDS: Final = (
    "データ分析", "防災", "子育て支援", "介護保険", "電子申請", "地図情報", "公共交通",
    "気象予測", "観光", "教育", "医療", "物流", "税務", "オープンデータ", "情報セキュリティ",
    "ガバメントクラウド", "住民サービス", "農業", "環境政策", "統計",
)  # fmt: skip
WORKS: Final = (
    "要件定義", "画面設計", "運用改善", "利用者調査", "庁内調整", "データ整備", "システム開発",
    "予算要求", "広報企画", "制度設計", "品質管理", "調達", "研修企画", "アクセシビリティ対応",
)  # fmt: skip
SERVICES: Final = (
    "てつづきナビ", "まちカルテ", "そらダッシュ", "くらしマップ", "あんしん通知",
    "地域データカタログ", "こそだてポータル", "みちしるべAPI", "はれのひ予報", "まなびノート",
)  # fmt: skip
PREVIOUS_JOBS: Final = (
    "旅行会社", "物流会社", "地方銀行", "通信会社", "広告代理店", "市役所", "県庁",
    "ゲーム会社", "コンサルティング会社", "出版社", "大学の研究室", "電機メーカー",
)  # fmt: skip
ACCOUNTS: Final = (
    ("chiiki_digital", "地域デジタル推進庁"), ("soranome_inc", "株式会社ソラノメ"),
    ("umikaze_city", "海風市"), ("minato_lab", "株式会社ミナトラボ"), ("kitahama_town", "北浜町"),
    ("aoba_data", "青葉データ研究所"), ("kumoi_giken", "株式会社クモイ技研"),
    ("yamanami_pref", "山並県"), ("midorino_city", "みどり野市"), ("tomoshibi_hr", "株式会社トモシビ"),
    ("machi_data", "まちのデータ協会"), ("harenohi_logi", "ハレノヒ物流"),
)  # fmt: skip
CONTESTS: Final = ("仕事について話そう", "私の仕事", "この経験に学べ", "はたらくってなんだろう")

_CAREER: Final = (
    "{y}年に{prev}へ入社し、{f}に関わる{w}を担当していました。",
    "大学では{f}を学び、卒業後は{prev}で{n}年ほど働きました。",
    "前職の{prev}では、{f}の現場で{w}を経験しました。",
    "{y}年からは{u}に移り、{w}の仕事に関わるようになりました。",
    "入社{n}年目には{f}の担当になり、初めて{w}を任されました。",
    "その後、{prev}での経験を生かして{o}に転職し、{y}年{m}月から現在の部署にいます。",
)
_CURRENT: Final = (
    "現在は{u}に所属し、「{s}」の{w}を担当しています。",
    "いまは{f}の分野で、自治体や企業の皆さんと一緒に{w}を進めています。",
    "「{s}」は{f}の情報をまとめて届けるサービスで、毎月{n}万人ほどの方に使われています。",
    "日々の仕事の中心は{w}で、週に{n}回はチームで進み具合を確認しています。",
    "最近は{f}のデータを使った新しい機能の{w}に力を入れています。",
)
_MOTIVATION: Final = (
    "{o}を志望したのは、{f}の経験を社会のために生かしたいと考えたからです。",
    "きっかけは、{prev}で{f}の課題に向き合ったことでした。",
    "仕組みそのものを変えられる場所で働きたいと思い、{o}の募集に応募しました。",
    "{f}に関わる仕事なら、自分の経験がきっと役に立つと感じたんです。",
)
_APPEAL: Final = (
    "{o}の魅力は、いろいろな経歴を持つ人と一緒に働けることだと思います。",
    "自分たちがつくった「{s}」の効果が数字として返ってくるところに、大きなやりがいを感じます。",
    "{f}の専門家と{w}の経験者が同じチームにいるので、毎日が学びの連続です。",
    "利用者の声がすぐに届くので、{w}の手応えを実感しやすい職場です。",
)
_CULTURE: Final = (
    "チームでは、分からないことをすぐに聞ける雰囲気を大切にしています。",
    "週に一度の振り返りでは、うまくいかなかったことも含めて全員で共有します。",
    "{u}には{n}人のメンバーがいて、職種をこえて相談し合っています。",
    "誰かを責めるのではなく、次にどう防ぐかを一緒に考えるのがこのチームの特徴ですね。",
)
_MESSAGE: Final = (
    "{f}の専門知識がなくても、心配しすぎる必要はありません。",
    "少しでも興味があれば、まずは説明会で話を聞きに来てください。",
    "利用者の立場に立って考えられる方と、一緒に働ける日を楽しみにしています。",
    "これからは{f}の分野でも「{s}」を広げていきたいと考えています。",
)
_TOPIC_SENTENCES: Final = {
    "career": _CAREER,
    "current_work": _CURRENT,
    "motivation": _MOTIVATION,
    "appeal": _APPEAL,
    "culture": _CULTURE,
    "message": _MESSAGE,
}
_HEADINGS: Final = {
    "career": ("これまでの経歴について", "{prev}から{o}へ", "{f}の現場で学んだこと"),
    "current_work": ("現在の業務について", "「{s}」をつくる仕事", "{w}の毎日"),
    "motivation": ("{o}を志した理由", "応募のきっかけ", "なぜ{f}の仕事を選んだのか"),
    "appeal": ("{o}の魅力・特色について", "この仕事のやりがい", "{f}に関わる面白さ"),
    "culture": ("チームの雰囲気", "「聞きやすさ」がチームを強くする", "{u}の働き方"),
    "message": ("これから応募を考えている方へ", "今後の目標", "未来の仲間へ"),
}
_QUESTIONS: Final = {
    "career": ("まずは、これまでのご経歴を教えてください。", "{prev}ではどんなお仕事をされていましたか。"),
    "current_work": ("現在はどのような業務を担当していますか。", "「{s}」ではどんな役割を担っていますか。"),
    "motivation": ("{o}を志望したのはなぜですか。", "転職のきっかけは何だったのでしょうか。"),
    "appeal": ("この仕事のやりがいや、職場の魅力を教えてください。", "{o}ならではの面白さは何ですか。"),
    "culture": ("チームの雰囲気を教えてください。", "職種の違うメンバーとはどう連携していますか。"),
    "message": ("最後に、応募を考えている方へメッセージをお願いします。", "今後の目標を教えてください。"),
}
_SLOGANS: Final = (
    "必要なサービスを、必要な方へ。{f}で“最適化”",
    "{f}とデータを活かし、より良い社会を目指す",
    "現場の声から「{s}」を育てる",
    "{w}で、暮らしの手続きをもっと身近に",
)
# Openers put before half of all sentences: with their slots they make most sentences of
# the corpus distinct, so a cache keyed on sentences is not flattered by the templates.
_OPENERS: Final = (
    "{y}年の春、",
    "{u}にいたころ、",
    "「{s}」の立ち上げでは、",
    "{f}の分野でも、",
    "{prev}時代から、",
    "振り返ると、",
    "正直に言うと、",
    "{n}年前の話ですが、",
    "{w}を担当していたとき、",
    "{o}に来てから、",
    "{m}月ごろには、",
    "いま思えば、",
)
_SAYINGS: Final = (
    "「{f}のことなら任せて」",
    "「まずはやってみよう」",
    "「問い合わせの電話がはっきり減りました」",
    "「説明が分かりやすくなった」",
)


@dataclass(slots=True)
class _Person:
    family: str
    given: str
    unit: str
    job: str


@dataclass(slots=True)
class _Article:
    """An article as typed blocks, before it is rendered to one input format."""

    article_format: str
    title: str
    blocks: list[tuple[str, ...]] = field(default_factory=list)
    eyecatch: bool = True
    contest: str | None = None
    markup: int = 2  # bytes each block adds around its text in the rendered file

    def add(self, kind: str, *parts: str) -> None:
        self.blocks.append((kind, *parts))

    def size(self) -> int:
        text = sum(len(part.encode()) for block in self.blocks for part in block[1:])
        return text + self.markup * len(self.blocks)


class _Writer:
    """Sentences and slot fillers drawn from one random generator."""

    def __init__(self, rng: random.Random, org: str, sample_sentences: Sequence[str]) -> None:
        self.rng = rng
        self.org = org
        self.samples = sample_sentences
        self.service = rng.choice(SERVICES)
        self.field = rng.choice(FIELDS)

    def fill(self, template: str) -> str:
        r = self.rng
        return template.format(
            y=r.randint(1998, 2023),
            m=r.randint(1, 12),
            n=r.randint(2, 30),
            prev=r.choice(PREVIOUS_JOBS),
            f=self.field if r.random() < 0.5 else r.choice(FIELDS),
            w=r.choice(WORKS),
            u=r.choice(UNITS),
            o=self.org,
            s=self.service if r.random() < 0.6 else r.choice(SERVICES),
        )

    def sentence(self, topic: str, people: Sequence[_Person]) -> str:
        text = self._sentence(topic, people)
        if self.rng.random() < 0.5:
            text = self.fill(self.rng.choice(_OPENERS)) + text
        return text

    def _sentence(self, topic: str, people: Sequence[_Person]) -> str:
        r = self.rng
        if self.samples and r.random() < 0.4:
            # A sample sentence, made this article's own: its people, organisation and
            # numbers are replaced, so no sentence repeats verbatim across the corpus often.
            text = r.choice(self.samples)
            for old in _SAMPLE_NAMES:
                if old in text and people:
                    text = text.replace(old, r.choice(people).family)
            text = _SAMPLE_ORGS.sub(self.org, text)
            return _DIGITS.sub(lambda m: _number_like(r, m[0]), text)
        text = self.fill(r.choice(_TOPIC_SENTENCES[topic]))
        if r.random() < 0.15:  # quoted speech inside a sentence (the speaker stays the same)
            text = text.rstrip("。") + "。" + self.fill(r.choice(_SAYINGS)) + "と言われたこともあります。"
        return text

    def paragraph(self, topic: str, people: Sequence[_Person], lo: int = 2, hi: int = 5) -> str:
        return "".join(self.sentence(topic, people) for _ in range(self.rng.randint(lo, hi)))

    def heading(self, topic: str) -> str:
        return self.fill(self.rng.choice(_HEADINGS[topic]))

    def question(self, topic: str) -> str:
        return self.fill(self.rng.choice(_QUESTIONS[topic]))


def _number_like(rng: random.Random, digits: str) -> str:
    """Another number of the same kind: a year for a year, else the same number of digits."""
    if len(digits) == 4 and digits.startswith(("19", "20")):
        return str(rng.randint(1995, 2025))
    return str(rng.randint(10 ** (len(digits) - 1) if len(digits) > 1 else 1, 10 ** len(digits) - 1))


def _topics(rng: random.Random) -> list[str]:
    topics = list(_TOPIC_SENTENCES)
    rng.shuffle(topics)
    return topics


def _intro(w: _Writer, art: _Article, people: Sequence[_Person], what: str) -> None:
    names = "、".join(f"{p.unit}の{p.family}" for p in people)
    art.add("p", f"{w.org}の公式noteでは、{what}をお届けしています。今回は{names}に話を聞きました。")
    if w.rng.random() < 0.5:
        art.add("p", w.paragraph("current_work", people, 1, 2))
    if w.rng.random() < 0.6:
        art.add("link", f"◆これまでの{what}の記事はこちら。")


def _closing(w: _Writer, art: _Article) -> None:
    if w.rng.random() < 0.7:
        art.add("br")
        for _ in range(w.rng.randint(1, 3)):
            art.add("link", w.rng.choice((f"◆{w.org}の採用情報はこちら。", "◆記事一覧はこちら。")))


def _seminar_report(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    art.title = f"{w.fill(w.rng.choice(_SLOGANS))}。現役職員が語る{w.org}のミッション"
    art.add("p", f"{w.org}では、学生などを対象に業務説明会やセミナーを随時実施しています。")
    art.add(
        "p",
        "セミナーでは、現役職員が携わっている業務や魅力をお話しました。当日の模様を再構成してご紹介します。",
    )
    art.add("link", "◆これまでのセミナーの記事はこちら。")
    i = 0
    while art.size() < target:
        p = people[i % len(people)]
        i += 1
        art.add("h2", w.fill(w.rng.choice(_SLOGANS)))
        art.add("figure", f"{p.unit}の{p.family}がセミナーに登壇しているときの写真", f"{p.unit}の{p.family}")
        art.add("p", f"{p.unit}{p.job}の{p.family}です。" + w.paragraph("career", [p], 1, 3))
        for topic in _topics(w.rng)[: w.rng.randint(2, 4)]:
            if art.size() >= target:
                break
            art.add("h3", w.heading(topic))
            for _ in range(w.rng.randint(1, 4)):
                art.add("p", w.paragraph(topic, [p]))
    _closing(w, art)


def _qa_labeled(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    p = people[0]
    art.title = f"{w.fill(w.rng.choice(_SLOGANS))}。{p.unit}の職員が語る、{w.field}の仕事"
    _intro(w, art, [p], "職員インタビュー")
    art.add("h3", "◆プロフィール")
    art.add("p", p.unit)
    art.add("p", f"{p.family} {p.given}")
    art.add("p", f"{w.rng.randint(2010, 2023)}年入庁")
    colon = w.rng.choice((":", "："))
    while art.size() < target:
        for topic in _topics(w.rng)[:3]:
            if art.size() >= target:
                break
            art.add("h2", w.heading(topic))
            if w.rng.random() < 0.3:
                art.add("figure", f"チームで打ち合わせをする{p.family}の写真", f"{p.unit}の{p.family}")
            for _ in range(w.rng.randint(1, 2)):
                art.add("bold", "――" + w.question(topic))
                art.add("bold", f"{p.family}{colon}")
                for _ in range(w.rng.randint(1, 3)):
                    art.add("p", w.paragraph(topic, [p]))
    _closing(w, art)


def _qa_unlabeled(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    p = people[0]
    art.title = f"「{w.service}」で手続きをもっと短く。{w.org}・{p.unit}の挑戦"
    art.add(
        "p",
        f"{w.org}では、{w.field}の取り組みを進めています。今回は、この取り組みを中心になって進めてきた{p.unit}の{p.family}さんに話を聞きました。",
    )
    while art.size() < target:
        for topic in _topics(w.rng)[:3]:
            if art.size() >= target:
                break
            art.add("h2", w.heading(topic))
            if w.rng.random() < 0.3:
                art.add("figure", f"窓口で端末を操作する{p.family}さんの写真", f"{p.unit}の{p.family}さん")
            art.add("p", "――" + w.question(topic))
            for _ in range(w.rng.randint(1, 3)):
                art.add("p", w.paragraph(topic, [p]))
    _closing(w, art)


def _dialogue(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    a, b = people[0], people[1]
    art.title = f"【対談】入社{w.rng.randint(5, 15)}年目と{w.rng.randint(1, 3)}年目。{w.field}のチームで、ふたりが大切にしていること"
    art.add(
        "p",
        f"{w.org}は、{w.field}のサービスを提供しています。今回は、一緒に働く{a.job}の{a.family}と、{b.job}の{b.family}に語ってもらいました。",
    )
    while art.size() < target:
        for topic in _topics(w.rng)[:2]:
            art.add("h2", w.heading(topic))
            art.add("p", "―" + w.question(topic))
            for speaker in (a, b) if w.rng.random() < 0.5 else (b, a):
                if w.rng.random() < 0.3:  # a label-only line, then paragraphs
                    art.add("p", f"{speaker.family}：")
                    for _ in range(w.rng.randint(1, 2)):
                        art.add("p", w.paragraph(topic, [speaker]))
                else:
                    art.add("p", f"{speaker.family}：" + w.paragraph(topic, [speaker]))
    _closing(w, art)


def _roundtable(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    art.title = f"【座談会】{'・'.join(p.unit for p in people)}に聞く、「使われる」{w.field}のつくり方"
    art.add(
        "p",
        f"{w.org}では「{w.service}」を運営しています。今回は、このサービスを支える職員に集まってもらい、それぞれの仕事や連携について話してもらいました。",
    )
    art.add("h3", "◆参加者")
    for p in people:
        art.add("p", f"{p.family}({p.unit})")
    while art.size() < target:
        for topic in _topics(w.rng)[:2]:
            art.add("h2", w.heading(topic))
            art.add("p", "――" + w.question(topic))
            for p in w.rng.sample(people, len(people)):
                art.add("p", f"【{p.family}】{p.unit}の{p.family}です。" + w.paragraph(topic, [p], 1, 4))
                if w.rng.random() < 0.2:  # an unlabelled continuation of the same speaker
                    art.add("p", w.paragraph(topic, [p]))
    _closing(w, art)


def _announcement(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    art.eyecatch = w.rng.random() < 0.3
    art.title = f"{w.field}の手続きをまとめて確認。「{w.service}」の提供を開始しました"
    art.add(
        "p",
        f"{w.org}は、{w.rng.randint(2023, 2025)}年{w.rng.randint(1, 12)}月から、オンラインサービス「{w.service}」の提供を開始しました。{w.paragraph('current_work', people, 1, 2)}",
    )
    while art.size() < target:
        art.add("h3", f"「{w.service}」でできること")
        for _ in range(w.rng.randint(3, 6)):
            art.add(
                "li",
                w.fill(
                    w.rng.choice(
                        (
                            "{f}の手続きを一覧で表示",
                            "窓口と必要な書類、受付時間を案内",
                            "{w}の進み具合を管理",
                            "「{s}」の申請ページへそのまま移動",
                        )
                    )
                ),
            )
        art.add("h3", "ご利用方法")
        art.add(
            "p",
            "スマートフォンやパソコンのブラウザから、以下のURLにアクセスしてご利用ください。利用者登録は不要です。",
        )
        art.add(
            "url",
            f"https://{w.rng.choice(('navi', 'portal', 'app', 'info'))}{w.rng.randint(1, 999)}.example.com/",
        )
        art.add("h3", "今後の予定")
        art.add("p", w.paragraph("message", people, 1, 3))
    art.add("link", f"◆詳しくは「{w.service}」の紹介ページをご覧ください。")


def _essay(w: _Writer, art: _Article, target: int, people: list[_Person]) -> None:
    p = people[0]
    art.title = f"{w.field}が苦手だった{p.job}が、仕事を「対話」に変えるまで"
    art.add(
        "p",
        f"こんにちは。{p.job}の{p.family}です。{w.org}に入って{w.rng.randint(2, 12)}年、{w.field}に関わる仕事をしています。今回は、私が仕事のやり方を少しずつ変えてきた話を書いてみます。",
    )
    while art.size() < target:
        for topic in _topics(w.rng)[:3]:
            if art.size() >= target:
                break
            art.add("h3", w.heading(topic))
            for _ in range(w.rng.randint(1, 3)):
                art.add("p", w.paragraph(topic, [p]))
    art.add("h3", "さいごに")
    art.add("p", w.paragraph("message", [p], 1, 3))
    _closing(w, art)


_BUILDERS: Final[dict[str, Callable[[_Writer, _Article, int, list[_Person]], None]]] = {
    "seminar_report": _seminar_report,
    "qa_labeled": _qa_labeled,
    "qa_unlabeled": _qa_unlabeled,
    "dialogue_labeled": _dialogue,
    "roundtable": _roundtable,
    "announcement": _announcement,
    "essay_author": _essay,
}
_PEOPLE: Final = {"seminar_report": (2, 3), "dialogue_labeled": (2, 2), "roundtable": (3, 4)}

# -- Rendering ---------------------------------------------------------------------------
_RECOMMEND: Final = (
    "みんなにも読んでほしいですか?",
    "オススメした記事はフォロワーのタイムラインに表示されます!",
)


def _render_text(art: _Article) -> str:
    lines: list[str] = ["見出し画像"] if art.eyecatch else []
    lines.append(art.title)
    for kind, *parts in art.blocks:
        if kind == "figure":
            lines.append(f"{parts[0]}\n{parts[1]}")  # alt and caption on adjacent lines, as pasted
        elif kind == "li":
            lines.append("・" + parts[0])
        elif kind != "br":
            lines.append(parts[0])
    if art.contest:
        lines += ["この記事が参加している募集", art.contest]
    lines += _RECOMMEND
    return "\n\n".join(lines) + "\n"


def _body_html(art: _Article, rng: random.Random, account: str) -> str:
    out: list[str] = []

    def attrs() -> str:
        u = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return f'name="{u}" id="{u}"'

    e = html.escape
    items: list[str] = []
    for kind, *parts in art.blocks:
        if kind != "li" and items:
            out.append(f"<ul {attrs()}>{''.join(items)}</ul>")
            items = []
        if kind == "p":
            out.append(f"<p {attrs()}>{e(parts[0])}</p>")
        elif kind == "bold":
            out.append(f"<p {attrs()}><b>{e(parts[0])}</b></p>")
        elif kind in ("h2", "h3"):
            out.append(f"<{kind} {attrs()}>{e(parts[0])}</{kind}>")
        elif kind == "figure":
            src = f"https://assets.example/images/{rng.getrandbits(40):010x}.jpg"
            out.append(
                f'<figure {attrs()}><img src="{src}" alt="{e(parts[0])}" width="620" height="413">'
                f"<figcaption>{e(parts[1])}</figcaption></figure>"
            )
        elif kind == "link":
            href = f"https://note.com/{account}/m/m{rng.getrandbits(48):012x}"
            out.append(
                f'<p {attrs()}><a href="{href}" target="_blank" rel="nofollow noopener">{e(parts[0])}</a></p>'
            )
        elif kind == "url":
            out.append(
                f'<p {attrs()}><a href="{e(parts[0])}" target="_blank" rel="nofollow noopener">{e(parts[0])}</a></p>'
            )
        elif kind == "br":
            out.append(f"<p {attrs()}><br></p>")
        elif kind == "li":
            items.append(f"<li>{e(parts[0])}</li>")
    if items:
        out.append(f"<ul {attrs()}>{''.join(items)}</ul>")
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class _Meta:
    key: str
    account: str
    nickname: str
    published: datetime
    hashtags: tuple[str, ...]
    likes: int


def _render_html(art: _Article, body: str, meta: _Meta) -> str:
    e = html.escape
    url = f"https://note.com/{meta.account}/n/{meta.key}"
    first = next((b[1] for b in art.blocks if b[0] == "p"), art.title)
    desc = first[:100] + "…"
    iso = meta.published.isoformat()
    ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": art.title,
            "author": {"@type": "Person", "name": meta.nickname, "url": f"https://note.com/{meta.account}"},
            "datePublished": iso,
            "image": "https://assets.example/eyecatch.png",
            "mainEntityOfPage": {"@type": "WebPage", "@id": url},
            "publisher": {"@type": "Organization", "name": "note"},
        },
        ensure_ascii=False,
    )
    tags = "\n".join(
        f'      <li class="m-tagList__item"><a href="https://note.com/hashtag/{e(t)}">#{e(t)}</a></li>'
        for t in meta.hashtags
    )
    contest = (
        '    <section class="o-noteContestBanner">\n'
        '      <p class="o-noteContestBanner__heading">この記事が参加している募集</p>\n'
        f'      <a class="o-noteContestBanner__link" href="https://note.com/contests/example">{e(art.contest)}</a>\n'
        "    </section>\n"
        if art.contest
        else ""
    )
    eyecatch = (
        '  <div class="o-noteEyecatch"><img src="https://assets.example/eyecatch.png" alt="見出し画像" width="1280" height="670"></div>\n'
        if art.eyecatch
        else ""
    )
    return f"""<!-- fixture: markup modelled on note.com article pages; generated by bench/make_corpus.py -->
<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(art.title)}｜{e(meta.nickname)}</title>
<meta name="description" content="{e(desc)}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="note（ノート）">
<meta property="og:title" content="{e(art.title)}｜{e(meta.nickname)}">
<meta property="og:description" content="{e(desc)}">
<meta property="og:url" content="{url}">
<meta property="og:image" content="https://assets.example/eyecatch.png">
<meta name="twitter:card" content="summary_large_image">
<link rel="canonical" href="{url}">
<link rel="stylesheet" href="https://assets.example/css/note-article.css">
<script type="application/ld+json">{ld}</script>
</head>
<body>
<div id="__nuxt"><div id="__layout"><div class="l-layout">
<header class="o-globalHeader" role="banner">
  <a class="o-globalHeader__logo" href="https://note.com/" aria-label="note">note</a>
  <nav class="o-globalHeader__nav" aria-label="グローバルナビゲーション">
    <a href="https://note.com/search">検索</a>
    <a href="https://note.com/login">ログイン</a>
    <a class="a-button" href="https://note.com/signup">会員登録</a>
  </nav>
</header>
<main class="p-article" role="main">
<article class="o-noteContent">
{eyecatch}  <div class="o-noteContentHeader">
    <h1 class="o-noteContentHeader__title">{e(art.title)}</h1>
    <div class="o-noteContentHeader__info">
      <a class="o-noteContentHeader__name" href="https://note.com/{meta.account}">{e(meta.nickname)}</a>
      <time class="o-noteContentHeader__date" datetime="{iso}">{meta.published:%Y年%-m月%-d日 %H:%M}</time>
      <button class="a-button o-followButton" type="button">フォロー</button>
    </div>
  </div>
  <div class="p-article__content">
    <div class="note-common-styles__textnote-body" data-name="body">{body}</div>
  </div>
  <div class="o-noteContentFooter">
    <ul class="m-tagList">
{tags}
    </ul>
{contest}    <div class="o-noteLikeV3">
      <button class="o-noteLikeV3__iconButton" type="button" aria-label="スキ"><span class="a-icon a-icon--heart"></span></button>
      <span class="o-noteLikeV3__count">{meta.likes}</span>
    </div>
    <div class="o-noteRecommend">
      <p class="o-noteRecommend__question">{_RECOMMEND[0]}</p>
      <button class="a-button o-noteRecommend__button" type="button">オススメ</button>
      <p class="o-noteRecommend__note">{_RECOMMEND[1]}</p>
    </div>
  </div>
</article>
<aside class="o-creatorProfile">
  <a class="o-creatorProfile__name" href="https://note.com/{meta.account}">{e(meta.nickname)}</a>
  <button class="a-button o-followButton" type="button">フォロー</button>
  <a class="o-creatorProfile__more" href="https://note.com/{meta.account}/all">記事一覧を見る</a>
</aside>
</main>
<footer class="o-globalFooter" role="contentinfo">
  <nav aria-label="フッター">
    <a href="https://note.com/help">ヘルプセンター</a>
    <a href="https://note.com/terms">利用規約</a>
    <a href="https://note.com/privacy">プライバシーポリシー</a>
  </nav>
</footer>
</div></div></div>
<script>window.__FIXTURE_STATE__={{"note":{{"key":"{meta.key}"}}}};</script>
</body>
</html>
"""


def _render_api(art: _Article, body: str, meta: _Meta, note_id: int) -> str:
    data = {
        "data": {
            "id": note_id,
            "key": meta.key,
            "name": art.title,
            "body": body,
            "publish_at": meta.published.isoformat(),
            "user": {"urlname": meta.account, "nickname": meta.nickname},
            "hashtags": [{"hashtag": {"name": f"#{t}"}} for t in meta.hashtags],
            "eyecatch": "https://assets.example/eyecatch.png",
            "like_count": meta.likes,
            "note_url": f"https://note.com/{meta.account}/n/{meta.key}",
        }
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


# -- Corpus --------------------------------------------------------------------------------
_SENTENCE_END: Final = re.compile(r"(?<=[。！？])")


def _sample_sentences(files: Iterable[Path] = _SAMPLE_TEXTS) -> list[str]:
    """Sentences of the samples' body paragraphs (lines of 40+ characters ending in 。)."""
    out: list[str] = []
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if (
                len(line) >= 40
                and line.endswith("。")
                and not line.startswith(("―", "【", "◆"))
                and "：" not in line[:8]
            ):
                out.extend(s for s in _SENTENCE_END.split(line) if len(s) >= 12)
    return sorted(dict.fromkeys(out))


def _target_size(rng: random.Random) -> int:
    # Log-uniform between 2 KB and 60 KB: mostly short articles, a long tail of long ones.
    return int(math.exp(rng.uniform(math.log(MIN_BYTES), math.log(MAX_BYTES))))


def _generate(
    rng: random.Random, article_format: str, fmt: str, target: int, keys: set[str], sentences: Sequence[str]
) -> tuple[str, str, str]:
    """One article: returns (account, file stem, file content)."""
    account, nickname = rng.choice(ACCOUNTS)
    org = nickname if rng.random() < 0.7 else rng.choice(ORGANISATIONS)
    lo, hi = _PEOPLE.get(article_format, (1, 1))
    families = rng.sample(FAMILY_NAMES, rng.randint(lo, hi))
    people = [
        _Person(f, rng.choice(GIVEN_NAMES), rng.choice(UNITS), rng.choice(JOB_TITLES)) for f in families
    ]
    writer = _Writer(rng, org, sentences)
    # <p name="uuid" id="uuid">…</p> is ~95 bytes of markup per block (~100 once JSON-escaped).
    art = _Article(article_format, title="", markup={"text": 2, "html": 95, "note_api": 100}[fmt])
    art.contest = rng.choice(CONTESTS) if rng.random() < 0.3 else None
    # The target is the file's size: the page chrome (~5 KB for HTML) does not count as body.
    # A builder stops after the section that crosses its target, ~800 bytes past it.
    chrome = {"text": 200, "html": 5_200, "note_api": 700}[fmt] + 800
    body_target = max(target - chrome, 400)
    _BUILDERS[article_format](writer, art, body_target, people)
    while True:
        key = f"n{rng.getrandbits(48):012x}"
        if key not in keys:
            keys.add(key)
            break
    published = _EPOCH + timedelta(
        days=rng.randrange(_DAYS), hours=rng.randint(8, 20), minutes=rng.choice((0, 15, 30))
    )
    meta = _Meta(
        key=key,
        account=account,
        nickname=nickname,
        published=published,
        hashtags=tuple(
            dict.fromkeys(
                (nickname, rng.choice(FIELDS), rng.choice(("職員インタビュー", "採用", "お知らせ")))
            )
        ),
        likes=rng.randint(0, 300),
    )
    if fmt == "text":
        return account, key, _render_text(art)
    body = _body_html(art, rng, account)
    if fmt == "html":
        return account, key, _render_html(art, body, meta)
    return account, key, _render_api(art, body, meta, note_id=rng.randint(10_000_000, 99_999_999))


def make_corpus(
    out_dir: str | Path,
    total_mb: float,
    seed: int = 0,
    formats: Sequence[str] = INPUT_FORMATS,
) -> list[Path]:
    """Write a corpus of about ``total_mb`` MB (10**6 bytes) into ``out_dir``; return its files.

    Deterministic: the same arguments give byte-identical files, and a smaller
    ``total_mb`` gives a prefix of the same articles. Files of a previous corpus in
    ``out_dir`` (listed in its ``.manifest.json``) are removed first.

    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> a = make_corpus(d, 0.03, seed=3, formats=("text",))
    >>> b = make_corpus(d, 0.03, seed=3, formats=("text",))
    >>> a == b and all(p.suffix == ".txt" for p in a)
    True
    """
    unknown = set(formats) - set(INPUT_FORMATS)
    if unknown or not formats:
        raise ValueError(f"formats must be some of {INPUT_FORMATS}, got {tuple(formats)}")
    if total_mb <= 0:
        raise ValueError(f"total_mb must be positive, got {total_mb}")
    out = Path(out_dir)
    _clear(out)
    rng = random.Random(seed)
    sentences = _sample_sentences()
    keys: set[str] = set()
    budget = int(total_mb * 1_000_000)
    written = 0
    paths: list[Path] = []
    entries: list[dict[str, object]] = []
    while written < budget:
        i = len(paths)
        article_format = rng.choices(ARTICLE_FORMATS, weights=_FORMAT_WEIGHTS)[0]
        fmt = rng.choice(tuple(formats))
        account, key, content = _generate(rng, article_format, fmt, _target_size(rng), keys, sentences)
        stem = f"a{i:06d}-{key}" if fmt == "text" else key
        path = out / _FOLDER[fmt] / account / f"{stem}{_EXTENSION[fmt]}"
        data = content.encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written += len(data)
        paths.append(path)
        entries.append(
            {
                "path": str(path.relative_to(out)),
                "format": fmt,
                "article_format": article_format,
                "bytes": len(data),
            }
        )
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "total_mb": total_mb,
        "formats": list(formats),
        "bytes": written,
        "files": entries,
    }
    (out / ".manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return paths


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of a corpus folder, or None when there is none."""
    path = Path(out_dir) / ".manifest.json"
    if not path.exists():
        return None
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def _clear(out: Path) -> None:
    """Remove a previous corpus (only the files its manifest lists); refuse foreign files."""
    if not out.exists():
        out.mkdir(parents=True)
        return
    manifest = read_manifest(out)
    if manifest is None:
        if any(out.iterdir()):
            raise FileExistsError(f"{out} is not empty and holds no corpus .manifest.json: not writing there")
        return
    files = manifest.get("files")
    for entry in files if isinstance(files, list) else []:
        (out / str(entry["path"])).unlink(missing_ok=True)
    (out / ".manifest.json").unlink()
    for folder in _FOLDER.values():  # now-empty account folders of the old corpus
        root = out / folder
        if root.is_dir() and not any(p.is_file() for p in root.rglob("*")):
            shutil.rmtree(root)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "out_dir", help="folder to write the corpus into (created; a previous corpus is replaced)"
    )
    parser.add_argument("--mb", type=float, default=5.0, help="corpus size in MB of files (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--formats", default=",".join(INPUT_FORMATS), help="comma-separated: text,html,note_api"
    )
    args = parser.parse_args(argv)
    paths = make_corpus(args.out_dir, args.mb, seed=args.seed, formats=tuple(args.formats.split(",")))
    size = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} articles, {size / 1e6:.2f} MB in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
