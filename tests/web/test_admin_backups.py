"""The system administrator's backup page /admin/backups (decision 0044): only
`backup.run` opens it; the button queues a backup (303 to a page that refreshes itself
until the worker is done); each file can be checked; a name that is no backup is 404."""
from __future__ import annotations

from appliance import jobs
from appliance.models import BackupRun


def test_only_the_system_administrator_opens_the_backup_page(people):
    html = people("admin").get("/admin/backups/").get_data(as_text=True)
    assert 'id="backup-create"' in html and 'id="backup-keys-reminder"' in html
    for who in ("sec", "auditor", "lead", "wangfang"):
        b = people(who)
        assert b.get("/admin/backups/").status_code == 403, who
        assert b.post("/admin/backups/create").status_code == 403, who
    assert BackupRun.select().count() == 0


def test_back_up_now_then_check_the_file(people, settings):
    admin = people("admin")
    r = admin.post("/admin/backups/create", csrf_from="/admin/backups/")
    assert r.status_code == 303
    page = r.headers["Location"]
    assert 'http-equiv="refresh"' in admin.get(page).get_data(as_text=True)
    jobs.run_pending_inline()
    done = admin.get(page).get_data(as_text=True)
    assert 'id="backup-done"' in done and 'http-equiv="refresh"' not in done
    name = BackupRun.get().file_name
    listing = admin.get("/admin/backups/").get_data(as_text=True)
    assert f'id="backup-{name}"' in listing
    r = admin.post("/admin/backups/verify", data={"name": name}, csrf_from="/admin/backups/")
    assert r.status_code == 303
    jobs.run_pending_inline()
    assert 'id="backup-done"' in admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "good," in admin.get("/admin/backups/").get_data(as_text=True)
    bad = admin.post("/admin/backups/verify", data={"name": "../g.db"},
                     csrf_from="/admin/backups/")
    assert bad.status_code == 404
    assert admin.get("/admin/backups/runs/9999").status_code == 404
