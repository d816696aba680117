"""Run inside a lab node's checkout (where `make` brought the stack up):
`python -m tests.lab.reboot_data write STATE` creates a post, an upload, a
WordPress user and a todo account with a todo, and records them in STATE;
`... check STATE` asserts that each is still there (after the node's engine
restarted), printing one line per item."""

import json
import sys
import uuid

from inception import secrets, settings as config
from tests.e2e.conftest import WordPress, new_session, todo_account, todo_url
from tests.loopback import names_to_loopback


def write(settings, ca: str, wordpress: WordPress, admin) -> dict:
    tag = uuid.uuid4().hex[:8]
    post = wordpress.create_post(admin, f"Survives a reboot {tag}")
    media = admin.post(wordpress.url("/wp-json/wp/v2/media"), data=b"GIF89a" + tag.encode() * 50, timeout=30,
                       headers={"X-WP-Nonce": wordpress.rest_nonce(admin), "Content-Type": "image/gif",
                                "Content-Disposition": f'attachment; filename="reboot-{tag}.gif"'})
    assert media.status_code == 201, f"upload -> {media.status_code}: {media.text[:200]}"
    user = admin.post(wordpress.url("/wp-json/wp/v2/users"), headers={"X-WP-Nonce": wordpress.rest_nonce(admin)},
                      json={"username": f"reader{tag}", "email": f"reader{tag}@example.com",
                            "password": uuid.uuid4().hex, "roles": ["subscriber"]}, timeout=30)
    assert user.status_code == 201, f"creating a user -> {user.status_code}: {user.text[:200]}"
    account = todo_account(settings, ca, "reboot")
    todo = account.post(todo_url(settings, "/api/todos"), json={"title": f"Survives a reboot {tag}"}, timeout=30)
    assert todo.status_code == 201, f"creating a todo -> {todo.status_code}: {todo.text[:200]}"
    return {"post": post["link"], "title": f"Survives a reboot {tag}", "media": media.json()["source_url"],
            "media_bytes": (b"GIF89a" + tag.encode() * 50).hex(), "user": f"reader{tag}",
            "todo_user": account.todo_username, "todo_password": account.todo_password, "todo": todo.json()}


def check(settings, ca: str, wordpress: WordPress, admin, state: dict) -> None:
    http = new_session(ca)
    page = http.get(state["post"], timeout=30)
    assert page.status_code == 200 and state["title"] in page.text, f"post lost: {page.status_code}"
    print("post: kept")
    assert http.get(state["media"], timeout=30).content.hex() == state["media_bytes"], "upload lost"
    print("upload: kept")
    users = admin.get(wordpress.url("/wp-json/wp/v2/users"), params={"context": "edit", "search": state["user"]},
                      headers={"X-WP-Nonce": wordpress.rest_nonce(admin)}, timeout=30).json()
    assert [u["username"] for u in users] == [state["user"]], f"user lost: {users}"
    print("user: kept")
    account = new_session(ca)
    login = account.post(todo_url(settings, "/api/auth/login"), timeout=30,
                         json={"username": state["todo_user"], "password": state["todo_password"]})
    assert login.status_code == 200, f"todo account lost: {login.status_code}"
    todo = account.get(todo_url(settings, f"/api/todos/{state['todo']['id']}"), timeout=30)
    assert todo.status_code == 200 and todo.json() == state["todo"], f"todo lost: {todo.text[:200]}"
    print("todo account and todo: kept")


def main(action: str, state_file: str) -> None:
    settings = config.load()
    with names_to_loopback(settings.hostnames):
        run(action, state_file, settings)


def run(action: str, state_file: str, settings) -> None:
    ca = str(settings.secrets_dir / "tls" / "ca.crt")
    wordpress = WordPress(settings, ca)
    admin = wordpress.login(settings["WP_ADMIN_USER"], secrets.read_secret("wp_admin_password", settings.secrets_dir))
    if action == "write":
        with open(state_file, "w") as out:
            json.dump(write(settings, ca, wordpress, admin), out)
    else:
        with open(state_file) as source:
            check(settings, ca, wordpress, admin, json.load(source))


if __name__ == "__main__":
    main(*sys.argv[1:3])
