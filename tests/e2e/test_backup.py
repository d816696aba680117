"""invoke backup, then clean --all --yes, up and restore: everything is back."""

import tarfile
import uuid
from pathlib import Path

import pytest

from .conftest import invoke, new_session, todo_url

pytestmark = pytest.mark.disruptive


def test_backup_then_clean_up_and_restore_brings_everything_back(wordpress, admin, http, todo_session, stack_up,
                                                                 secret, ca_file):
    tag = uuid.uuid4().hex[:8]
    post = wordpress.create_post(admin, f"Backed up {tag}", content="Restored content.")
    nonce = wordpress.rest_nonce(admin)
    media = admin.post(wordpress.url("/wp-json/wp/v2/media"), data=b"GIF89a" + tag.encode() * 100, timeout=30,
                       headers={"X-WP-Nonce": nonce, "Content-Type": "image/gif",
                                "Content-Disposition": f'attachment; filename="backup-{tag}.gif"'})
    assert media.status_code == 201, f"upload -> {media.status_code}: {media.text[:200]}"
    media_bytes = http.get(media.json()["source_url"], timeout=30).content
    user = admin.post(wordpress.url("/wp-json/wp/v2/users"), headers={"X-WP-Nonce": nonce}, timeout=30,
                      json={"username": f"reader{tag}", "email": f"reader{tag}@example.com",
                            "password": uuid.uuid4().hex, "roles": ["subscriber"]})
    assert user.status_code == 201, f"creating a user -> {user.status_code}: {user.text[:200]}"
    todo = todo_session.post(todo_url(stack_up, "/api/todos"), json={"title": f"Backed up {tag}"}, timeout=30).json()

    result = invoke("backup")
    archive = Path(result.stdout.split("backup written: ")[1].split(" (")[0])
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "mariadb.sql", "wordpress.tar", "todos.jsonl"} <= names, names
    assert not any(name.startswith("secrets") for name in names), "secrets stored without --with-secrets"

    invoke("clean", "--all", "--yes")
    assert not stack_up.data_dir.exists(), "clean --all left DATA_DIR behind"
    invoke("up")
    assert http.get(post["link"], timeout=30).status_code == 404, "the post exists before the restore"

    invoke("restore", str(archive), "--yes")
    r = http.get(post["link"], timeout=30)
    assert r.status_code == 200 and f"Backed up {tag}" in r.text, f"post not restored: {r.status_code}"
    assert http.get(media.json()["source_url"], timeout=30).content == media_bytes, "upload not restored"
    again = wordpress.login(stack_up["WP_ADMIN_USER"], secret("wp_admin_password"))
    users = again.get(wordpress.url("/wp-json/wp/v2/users"), params={"context": "edit", "search": f"reader{tag}"},
                      headers={"X-WP-Nonce": wordpress.rest_nonce(again)}, timeout=30).json()
    assert [u["username"] for u in users] == [f"reader{tag}"], f"user not restored: {users}"
    # The account comes back with its password (sessions do not: a restore signs everyone out).
    owner = new_session(ca_file)
    login = owner.post(todo_url(stack_up, "/api/auth/login"), timeout=30,
                       json={"username": todo_session.todo_username, "password": todo_session.todo_password})
    assert login.status_code == 200, f"todo account not restored: {login.status_code} {login.text[:200]}"
    restored = owner.get(todo_url(stack_up, f"/api/todos/{todo['id']}"), timeout=30)
    assert restored.status_code == 200 and restored.json() == todo, f"todo not restored: {restored.text[:200]}"
