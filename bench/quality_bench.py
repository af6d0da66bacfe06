"""Quality inspection figures (docs/decisions/0039): rule-scoring throughput, and the
model rubric's latency per reply and whether it tells good replies from bad ones.

    .venv/bin/python bench/quality_bench.py                  # rules + rubric (default model)
    .venv/bin/python bench/quality_bench.py --no-model       # rules only
    .venv/bin/python bench/quality_bench.py --model-dir DIR --threads 1

Rules: rules.quality_rules.check_reply with the default settings plus two admin
patterns, on 2,000 generated replies (Chinese and English, ~120 or ~1,200 characters;
every fifth with a forbidden word, a promise or a full ID/card number), repeated --runs
times. Rubric: services.quality.rubric_for with LlamaTextModel in this process as the
worker loads it, on LABELLED: pairs of a good (polite, matches the knowledge, solves it)
and a bad (rude, wrong or no help) reply to the same customer message. Discrimination:
the share of pairs whose good reply gets a higher empathy score (and a higher total of
the three dimensions) than its bad twin. Results also go to bench/out/quality_bench.json.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time

try:
    import common  # bench/common.py, run as a script; it puts the repo root on sys.path
except ImportError:  # imported as bench.quality_bench (tests/llm reads LABELLED)
    from bench import common

from appliance.rules import quality_rules, quality_score

LABELLED = [  # (customer, knowledge, good reply, bad reply)
    ("我的打印机一直显示脱机，没法打印，怎么办？",
     "打印机显示脱机：在设置-设备-打印机中取消勾选“脱机使用打印机”，然后重启打印机。",
     "您好，非常抱歉给您带来不便。请在“设置-设备-打印机”中取消勾选“脱机使用打印机”，然后重启打印机即可。祝您工作顺利！",
     "你自己不会看说明书吗？打印机坏了就去买个新的，别来烦我们。"),
    ("快递五天没有更新了，我的包裹是不是丢了？",
     "物流超过 72 小时未更新：客服登记异常件，快递公司 48 小时内回复，丢失按保价赔付。",
     "您好，让您久等了，非常理解您的着急。我已为您登记异常件，快递公司会在 48 小时内回复，如确认丢失将按保价赔付。",
     "不知道，快递的事不归我管，你自己去问快递公司。"),
    ("My printer shows offline and won't print. What should I do?",
     "Printer offline: open Settings > Devices > Printers, untick 'Use printer offline', restart the printer.",
     "Hello, I'm sorry for the trouble. Please open Settings > Devices > Printers, untick "
     "'Use printer offline' and restart the printer. Best regards",
     "Read the manual yourself. Just buy a new printer and stop bothering us."),
    ("I was charged twice for one order. Please refund the extra charge.",
     "Double charge: the duplicate payment is refunded automatically within 3-5 working days.",
     "Hello, I'm sorry about the double charge. The duplicate payment is refunded "
     "automatically within 3-5 working days. Thank you for your patience.",
     "That's impossible, our system never charges twice. Not my problem."),
]


def _replies(n: int) -> list[tuple[str, str]]:
    base = [("zh", "您好，您的订单已经发货，预计明天送达，请注意查收。祝您生活愉快！"),
            ("en", "Hello, your order has shipped and should arrive tomorrow. Best regards"),
            ("zh", "你自己看说明书，我们保 证明天一定赔给你。身份证 11010519491231002X"),
            ("en", "We GUARANTEE a full refund, card 6222 0212 3456 7894 is on file."),
            ("zh", "请在设置里重新安装驱动，然后重启电脑。")]
    out = []
    for i in range(n):
        lang, text = base[i % len(base)]
        out.append((lang, text * (10 if i % 2 else 1)))
    return out


def bench_rules(n: int, runs: int) -> dict:
    settings, _ = quality_score.parse({**quality_score.to_json(quality_score.defaults()),
                                       "promise_patterns": [r"赔\s*\d+\s*倍", r"refund\s+in\s+\d+"],
                                       "forbidden_patterns": [r"(?i)shut\s+up"]})
    replies = _replies(n)
    waited = dt.timedelta(minutes=12)
    per_run = []
    for _ in range(runs):
        started = time.perf_counter()
        for lang, text in replies:
            quality_rules.check_reply(text, lang, waited, settings.rules)
        per_run.append(time.perf_counter() - started)
    best = min(per_run)
    chars = sum(len(t) for _, t in replies) / n
    return {"replies": n, "mean_chars": round(chars), "runs": runs,
            "replies_per_s": round(n / best), "us_per_reply": round(best / n * 1e6, 1)}


def bench_rubric(model_dir: str, threads: int) -> dict:
    from local_llm import registry
    from local_llm.runtime import LlamaTextModel
    from appliance.services.quality import rubric_for
    model = LlamaTextModel(model_dir, registry.DEFAULT.entry.name, threads=threads, context=1024,
                           timeout_s=60, concurrency=1)
    started = time.perf_counter()
    info = model.warm()
    load_s = time.perf_counter() - started
    if not info.available:
        return {"error": info.reason}
    latencies, pairs = [], []
    for customer, knowledge, good, bad in LABELLED:
        got = []
        for reply in (good, bad):
            t = time.perf_counter()
            try:
                got.append(rubric_for(model, customer, reply, [knowledge], 60))
            except ValueError as exc:
                got.append({"error": str(exc)})
            latencies.append(time.perf_counter() - t)
        pairs.append(got)
    valid = [p for p in pairs if all("error" not in g for g in p)]
    total = lambda g: sum(v["score"] for v in g.values())  # noqa: E731
    return {"model": info.name, "threads": threads, "load_s": round(load_s, 1),
            "replies": len(latencies), "valid_rubrics": sum(len(p) for p in valid),
            "latency_s_median": round(statistics.median(latencies), 1),
            "latency_s_max": round(max(latencies), 1),
            "empathy_good_gt_bad": f"{sum(g['empathy']['score'] > b['empathy']['score'] for g, b in valid)}/{len(valid)}",
            "total_good_gt_bad": f"{sum(total(g) > total(b) for g, b in valid)}/{len(valid)}",
            "pairs": [[{k: v['score'] for k, v in g.items()} if "error" not in g else g for g in p]
                      for p in pairs]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-model", action="store_true")
    ap.add_argument("--model-dir", default=str(common.ROOT / "var" / "models"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    out = {"rules": bench_rules(args.n, args.runs)}
    print("rules:", json.dumps(out["rules"]))
    if not args.no_model:
        out["rubric"] = bench_rubric(args.model_dir, args.threads)
        print("rubric:", json.dumps(out["rubric"], ensure_ascii=False))
    common.OUT.mkdir(parents=True, exist_ok=True)
    (common.OUT / "quality_bench.json").write_text(
        json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
