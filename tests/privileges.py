"""The least-privilege policy of each container, and its documented exceptions.

tests/e2e/test_privileges.py checks the running containers against it; the
README's "Least privilege" table says the same in words. A change here needs a
reason written next to it.
"""

ENTRYPOINT_CAPS = {"CHOWN", "SETUID", "SETGID"}

# Capabilities added back per service (everything else is dropped).
CAPABILITIES = {
    "nginx": ENTRYPOINT_CAPS,
    "wordpress": ENTRYPOINT_CAPS,
    "mariadb": ENTRYPOINT_CAPS,
    "redis": ENTRYPOINT_CAPS,
    "mongodb": ENTRYPOINT_CAPS,
    "todo": ENTRYPOINT_CAPS,
    # acme mode only: hands the acme volume to the lego user, then drops root.
    "acme": ENTRYPOINT_CAPS,
    "adminer": set(),
    "static": set(),
    # vsftpd: binds 21, chroots sessions, switches to the account's uid.
    "ftp": {"CHOWN", "SETUID", "SETGID", "SYS_CHROOT", "NET_BIND_SERVICE"},
}

# The user the daemon runs as; root only where documented.
DAEMON_USERS = {
    "nginx": "www-data",
    "wordpress": "www-data",
    "mariadb": "mysql",
    "redis": "redis",
    "mongodb": "ferretdb",
    "todo": "todo",
    "acme": "lego",
    "adminer": "www-data",
    "static": "www-data",
    # Exception: vsftpd's listener must be root to chroot and setuid per
    # session; each session runs as the FTP account (www-data's uid).
    "ftp": "root",
}

# Services whose root filesystem stays writable, with the reason.
WRITABLE_ROOT = {
    "ftp": "the entrypoint writes the FTP account into /etc/passwd and /etc/shadow",
}

# Services that run in one configuration only: the stack the e2e suite runs
# (TLS_MODE=local) has no such container; the named test checks them.
CONFIGURATION_ONLY = {
    "acme": "TLS_MODE=acme only; tests/e2e/test_acme.py checks its container",
}
