"""Reply-draft latency with the real local model: time to first text and total time.

    .venv/bin/python bench/draft_latency.py            # 10 reply drafts
    .venv/bin/python bench/draft_latency.py -n 20 --threads 2 --batch-threads 2

Builds a throw-away site in a temporary folder (own SQLite database and search index:
an agent, published knowledge articles, resolved tickets with their answers, and new
tickets to answer, in Chinese and English), loads the model from var/models (as
`make run` installs it) and writes reply drafts through the real path: request_draft
stores the row, the "ai_draft" handler gathers the sources, builds the prompt and
streams the model's text into the row, and this script reads the row as the browser's
stream does, every 20 ms.

Time to first text = from the request until the row first holds text. On a shared
box wall times mostly measure the neighbours, so the script also prints CPU seconds
and the idle-box estimate cpu-s / threads. Not included:
the queue's pick-up delay (the Huey consumer polls an idle SQLite queue at most every
0.25 s) and the browser's stream poll (0.2 s); both are printed as a note.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ARTICLES = [
    ("zh", "打印机无法打印怎么办", "先检查打印机电源和纸张，再在电脑上删除卡住的打印任务，"
     "重新安装驱动程序。如果指示灯闪红灯，请关机一分钟后重启。"),
    ("zh", "如何申请退款", "在订单页面点击“申请退款”，选择原因并上传照片。审核一般需要 1 到 3 个工作日，"
     "退款原路退回，银行卡到账可能再需要 3 到 5 个工作日。"),
    ("zh", "快递一直没有更新物流信息", "物流信息超过 48 小时没有更新时，请提供订单号，我们会联系快递公司核实。"
     "偏远地区派送可能延迟 2 到 3 天。"),
    ("zh", "忘记密码怎么重置", "在登录页点击“忘记密码”，输入注册手机号，收到验证码后设置新密码。"
     "验证码 5 分钟内有效。"),
    ("zh", "发票怎么开", "订单完成后在“我的订单”里点击“申请发票”，填写抬头和税号，电子发票会在 24 小时内发到邮箱。"),
    ("zh", "会员积分规则", "每消费 1 元积 1 分，积分一年有效，可在结算时抵扣现金，100 分抵 1 元。"),
    ("en", "Printer will not print", "Check the power and paper, clear stuck print jobs on the "
     "computer and reinstall the driver. If the light blinks red, switch it off for a minute."),
    ("en", "How to request a refund", "Open the order and choose Request refund, pick a reason "
     "and add photos. Review takes 1 to 3 working days; the money returns to the original "
     "payment method."),
    ("en", "Parcel tracking has not updated", "If tracking has not changed for 48 hours, send "
     "us the order number and we will check with the carrier. Remote areas can take 2-3 days longer."),
    ("en", "Resetting a forgotten password", "On the login page choose Forgot password, enter "
     "your phone number and set a new password with the code we send (valid 5 minutes)."),
]
RESOLVED = [
    ("打印机卡纸后不能打印", "办公室的打印机卡纸了，取出纸后还是不能打印。",
     "您好，请关机一分钟后重启打印机，并在电脑上清除打印队列，问题即可解决。"),
    ("退款一直没到账", "申请退款已经一周了，钱还没有到。",
     "您好，退款已于昨日原路退回，银行卡到账需要 3 到 5 个工作日，请耐心等待。"),
    ("快递三天没有动", "订单号 20240101 的快递三天没有更新。",
     "您好，已联系快递公司，包裹在中转站滞留，预计明天派送。"),
    ("Refund not received", "I asked for a refund last week and have not received it.",
     "Hello, the refund was sent yesterday; banks take 3-5 working days to show it."),
    ("Printer shows red light", "My printer blinks red and prints nothing.",
     "Please switch the printer off for one minute and clear the print queue; that fixes it."),
]
NEW = [
    ("打印机不能打印了", "今天早上开始打印机就不能打印，指示灯一直闪红灯，重启电脑也没用。"),
    ("我要退款", "买的衣服尺码不对，想申请退款，请问怎么操作？多久能到账？"),
    ("快递好几天没更新", "我的快递已经四天没有物流信息了，订单号 88123，请帮忙查一下。"),
    ("忘记密码", "我忘记登录密码了，手机号还在用，怎么重置？"),
    ("发票问题", "上个月的订单需要开发票，公司抬头怎么填写？"),
    ("Printer not printing", "Since this morning the printer does not print and the light "
     "blinks red. Restarting the computer did not help."),
    ("Refund request", "The shoes I bought are too small. How do I get a refund and how long "
     "does it take?"),
    ("Where is my parcel?", "Tracking for order 77120 has not changed for four days. Can you check?"),
    ("Forgot my password", "I cannot log in because I forgot my password. I still have my phone."),
    ("积分怎么用", "我有 3000 积分，结算的时候可以抵扣多少钱？"),
]


def site(tmp: Path, threads: int, batch_threads: int):
    from appliance import jobs, runtime
    from appliance.db import bind_database, database
    from appliance.models import ALL_MODELS
    from appliance.settings import Settings
    s = Settings(database_url=f"sqlite:///{tmp / 'g.db'}", queue_url=f"sqlite:///{tmp / 'q.db'}",
                 index_dir=str(tmp / "index"), attachment_dir=str(tmp / "att"),
                 secret_key=uuid.uuid4().hex, model_dir=str(ROOT / "var" / "models"),
                 keys_dir=str(tmp / "keys"),
                 llm_threads=threads, llm_batch_threads=batch_threads, default_locale="zh_CN")
    from bench.common import site_keys
    site_keys(s)
    bind_database(s.database_url)
    database.create_tables(ALL_MODELS)  # a throw-away database: the models' schema is enough
    runtime.configure(s)
    jobs.set_enqueuer(None)
    return s


def seed(s):
    """An agent, articles, resolved tickets with answers; returns (agent, new ticket ids)."""
    from appliance import jobs
    from appliance.models import User
    from appliance.rules.access import SYSTEM
    from appliance.services import comments, knowledge, org, tickets, users
    dept = org.save_department(SYSTEM, "AS", "售后", "After-sales")
    users.create_user(SYSTEM, "agent", "王芳", "agent", department_id=dept.id)
    agent = users.actor_of(User.get(User.username == "agent"))
    for lang, title, body in ARTICLES:
        a = knowledge.create_article(agent, knowledge.ArticleInput(title, body, lang, "public"))
        knowledge.publish_article(SYSTEM, a.id)
    for subject, description, answer in RESOLVED:
        t = tickets.create_ticket(agent, tickets.TicketInput(subject=subject, description=description,
                                                             department_id=dept.id), s)
        comments.add_comment(agent, t.summary.id, answer, s)
        tickets.transition_ticket(agent, t.summary.id, "resolved", s)
    new = [tickets.create_ticket(agent, tickets.TicketInput(subject=sub, description=desc,
                                                            department_id=dept.id), s).summary.id
           for sub, desc in NEW]
    from appliance.models import Job
    for job in Job.select().where((Job.name == "index_ticket") & Job.done_at.is_null()):
        jobs.run_job(job.id)  # the search index, for similar tickets (triage is not measured)
    return agent, new


def one_draft(agent, ticket_id: int, tone: str, s) -> dict:
    from appliance.models import AiDraft
    from appliance.services import assist
    t0, c0 = time.perf_counter(), time.process_time()
    draft_id = assist.request_draft(agent, ticket_id, "reply", tone, s)
    worker = threading.Thread(target=assist.run_draft, args=(draft_id,))
    worker.start()
    first = first_cpu = None
    while True:
        d = AiDraft.get_by_id(draft_id)
        if first is None and d.text:
            first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        if d.status in ("done", "failed"):
            break
        time.sleep(0.02)
    total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    worker.join()
    return {"id": draft_id, "status": d.status, "error": d.error, "first": first, "total": total,
            "first_cpu": first_cpu, "total_cpu": total_cpu,
            "chars": len(d.text), "cited": sum(1 for c in d.citations if c["cited"]),
            "given": len(d.citations), "language": d.language}


def prompt_tokens(agent, ticket_id: int, s, model) -> int:
    from appliance.models import AiDraft, Ticket
    from appliance.services import assist
    d = AiDraft(ticket=ticket_id, user=agent.user_id, kind="reply", tone="formal",
                language=assist.ctx.customer_language(Ticket.get_by_id(ticket_id)))
    system, user, _ = assist.build_prompt(agent, Ticket.get_by_id(ticket_id), d, s)
    return model.count_tokens(system) + model.count_tokens(user)


def show(agent, ticket_id: int, draft_id: int, s) -> None:
    from appliance.models import AiDraft, Ticket
    from appliance.services import assist
    d = AiDraft.get_by_id(draft_id)
    system, user, _ = assist.build_prompt(agent, Ticket.get_by_id(ticket_id), d, s)
    print(f"--- system ---\n{system}\n--- user ---\n{user}\n--- draft ---\n{d.text}\n"
          f"--- citations ---\n{d.citations}\n")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10, help="reply drafts to write (default 10)")
    ap.add_argument("--threads", type=int, default=1,
                    help="llm_threads, generation (default 1, the product's default)")
    ap.add_argument("--batch-threads", type=int, default=2,
                    help="llm_batch_threads, prompt evaluation (default 2, the product's default)")
    ap.add_argument("--show", action="store_true", help="print each prompt and draft")
    args = ap.parse_args()
    from appliance import registry
    with tempfile.TemporaryDirectory(prefix="gongdan-draft-bench-") as tmp:
        s = site(Path(tmp), args.threads, args.batch_threads)
        agent, new = seed(s)
        model = registry.text_model(s)
        t = time.perf_counter()
        info = model.warm()
        if not info.available:
            sys.exit(f"model unavailable: {info.reason} (run `python -m local_llm.install`)")
        print(f"model {info.name}, loaded in {time.perf_counter() - t:.1f} s; "
              f"llm_threads={s.llm_threads}, llm_batch_threads={s.llm_batch_threads}, "
              f"llm_context={s.llm_context}")
        one_draft(agent, new[0], "formal", s)  # warm-up: jieba dictionary, first llama eval
        rows = []
        for i in range(args.n):
            tid = new[i % len(new)]
            tokens = prompt_tokens(agent, tid, s, model)
            r = one_draft(agent, tid, ("formal", "friendly")[i % 2], s)
            r["prompt_tokens"] = tokens
            rows.append(r)
            if args.show:
                show(agent, tid, r["id"], s)
            first = f"{r['first']:.2f}" if r["first"] is not None else "—"
            cpu = f"{r['first_cpu']:.1f}" if r["first_cpu"] is not None else "—"
            print(f"draft {i + 1:2d} [{r['language']}] {r['status']:6s} prompt {tokens:4d} tok  "
                  f"first text {first:>5s} s ({cpu} cpu-s)  total {r['total']:5.2f} s "
                  f"({r['total_cpu']:.1f} cpu-s)  {r['chars']:4d} chars  "
                  f"cited {r['cited']}/{r['given']} {r['error']}", flush=True)
        firsts = [r["first"] for r in rows if r["first"] is not None]
        totals = [r["total"] for r in rows]
        print(f"\nreply drafts: {len(rows)} ({sum(r['status'] == 'done' for r in rows)} done)")
        if firsts:
            print(f"time to first text: p50 {statistics.median(firsts):.2f} s, "
                  f"p95 {pct(firsts, 95):.2f} s, max {max(firsts):.2f} s")
        print(f"total time:         p50 {statistics.median(totals):.2f} s, "
              f"p95 {pct(totals, 95):.2f} s, max {max(totals):.2f} s")
        print(f"prompt tokens:      p50 {statistics.median(r['prompt_tokens'] for r in rows):.0f}")
        cpus = [r["first_cpu"] for r in rows if r["first_cpu"] is not None]
        if cpus:
            # CPU time does not grow when other processes share the cores (spinning
            # OpenMP threads make it an upper bound), so cpu-s / threads estimates the
            # wall time on an otherwise idle box of this size.
            # The first text is mostly prompt evaluation (llm_batch_threads), the rest
            # generation (llm_threads).
            per, gen = s.llm_batch_threads, s.llm_threads
            print(f"idle-box estimate:  first text p50 {statistics.median(cpus) / per:.2f} s, "
                  f"p95 {pct(cpus, 95) / per:.2f} s (cpu-s / llm_batch_threads); total p50 "
                  f"{statistics.median(r['total_cpu'] for r in rows) / gen:.2f} s "
                  f"(cpu-s / llm_threads)")
        print(f"load average during the run: {os.getloadavg()[0]:.1f} (1 min) on "
              f"{os.cpu_count()} cores")
        print("not included: queue pick-up (≤ 0.25 s, Huey's idle poll) and the stream's poll (≤ 0.2 s)")


if __name__ == "__main__":
    main()
