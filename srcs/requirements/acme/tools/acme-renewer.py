#!/usr/bin/python3
"""acme-renewer: the acme container's main process (PID 1).

Obtains one certificate for DOMAIN_NAME and ACME_SUBDOMAINS from the ACME CA
at ACME_DIRECTORY with lego (TLS-ALPN-01: lego answers on port 5001, where
nginx passes connections whose ALPN is acme-tls/1), renews it when fewer than
ACME_RENEW_DAYS days are left, and publishes it for nginx in the acme volume:

  /var/lib/acme/lego/        lego's account and certificates (0700, lego only)
  /var/lib/acme/bundle.pem   private key + chain (0640, group www-data): nginx
                             watches this name and reloads when it is replaced
  /var/lib/acme/cert.pem     the chain alone (0644; public, for the healthchecks)

Each file is written beside its name and renamed over it, so a reader never
sees half a file and the key always matches the chain in the same file.

Schedule: a check at start, then every CHECK_INTERVAL (12 hours, as certbot's
timer does), and at once on SIGHUP (`docker kill --signal HUP acme`, e.g. once
DNS is fixed). A stop (SIGTERM) that comes during a check takes effect once
lego has finished and its certificate is published. A check runs `lego renew --days ACME_RENEW_DAYS`, which renews
only when due (or `lego run` when there is no certificate yet, or its names
changed). A failed check is retried after 5 minutes, then 10, 20... up to the
interval, which keeps within Let's Encrypt's limit of 5 failed validations
per host name an hour.

Why a program of its own rather than cron: cron would stay root for the
container's life (to switch users per job), needs PAM and a mailer to be
quieted in a container, and loses the environment; this process runs as the
lego user from the start, logs to the container's output, and its one job is
waiting for the next check.
"""

import grp
import os
import signal
import subprocess
import sys
import time

STATE = "/var/lib/acme"
LEGO_PATH = f"{STATE}/lego"
BUNDLE = f"{STATE}/bundle.pem"
CERT = f"{STATE}/cert.pem"
# nginx's stream front passes acme-tls/1 connections to acme:5001.
TLS_PORT = ":5001"
CHECK_INTERVAL = 12 * 3600
FIRST_RETRY = 300


def log(level: str, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} [acme-renewer] {level}: {message}", file=sys.stdout if level == "Note" else sys.stderr,
          flush=True)


def names() -> list[str]:
    domain = os.environ["DOMAIN_NAME"]
    return [domain] + [f"{sub}.{domain}" for sub in os.environ.get("ACME_SUBDOMAINS", "").split()]


def lego_files() -> tuple[str, str]:
    """lego's certificate (with its issuer: the chain nginx serves) and key."""
    base = f"{LEGO_PATH}/certificates/{names()[0]}"
    return f"{base}.crt", f"{base}.key"


def lego(*command: str) -> bool:
    args = ["lego", "--accept-tos", "--email", os.environ["ACME_EMAIL"], "--server", os.environ["ACME_DIRECTORY"],
            "--path", LEGO_PATH, "--key-type", "ec256", "--tls", "--tls.port", TLS_PORT, "--http-timeout", "30"]
    for name in names():
        args += ["--domains", name]
    # lego logs to the container's output itself.
    return subprocess.run(args + list(command), stdin=subprocess.DEVNULL, check=False).returncode == 0


def openssl_x509(path: str, *options: str) -> str:
    result = subprocess.run(["openssl", "x509", "-in", path, "-noout", *options],
                            capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else ""


def certificate_names(path: str) -> set[str]:
    text = openssl_x509(path, "-ext", "subjectAltName")
    return {part.strip()[4:] for part in text.replace("\n", ",").split(",") if part.strip().startswith("DNS:")}


def write_replacing(path: str, data: bytes, mode: int, group: int = -1) -> None:
    """Write beside `path`, then rename over it (readers see old or new, whole)."""
    partial = f"{os.path.dirname(path)}/.{os.path.basename(path)}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, -1, group)
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)


def publish() -> bool:
    """Publish lego's certificate when it differs from the published one."""
    crt_path, key_path = lego_files()
    if not (os.path.exists(crt_path) and os.path.exists(key_path)):
        return False
    with open(crt_path, "rb") as crt, open(key_path, "rb") as key:
        chain = crt.read()
        bundle = key.read() + chain
    if os.path.exists(BUNDLE):
        with open(BUNDLE, "rb") as published:
            if published.read() == bundle:
                return False
    write_replacing(CERT, chain, 0o644)
    # Last: nginx installs the certificate when this name is replaced.
    write_replacing(BUNDLE, bundle, 0o640, grp.getgrnam("www-data").gr_gid)
    details = " ".join(openssl_x509(CERT, "-serial", "-enddate").split())
    log("Note", f"published the certificate for {', '.join(names())} ({details})")
    return True


def check() -> bool:
    """Obtain or renew as needed, then publish; False when lego failed."""
    crt_path, _ = lego_files()
    if not os.path.exists(crt_path):
        log("Note", f"obtaining a certificate for {', '.join(names())} from {os.environ['ACME_DIRECTORY']}")
        ok = lego("run")
    elif certificate_names(crt_path) != set(names()):
        log("Note", f"the host names changed: obtaining a certificate for {', '.join(names())}")
        ok = lego("run")
    else:
        # Renews only with fewer than ACME_RENEW_DAYS days left. No random
        # sleep: the checks already run at an hour set by when the stack started.
        ok = lego("renew", "--days", os.environ.get("ACME_RENEW_DAYS", "30"), "--no-random-sleep")
    if ok:
        publish()
    return ok


STOP = {signal.SIGTERM, signal.SIGINT}


def wait(seconds: float) -> None:
    """Sleep until the next check, until SIGHUP (check now), or until SIGTERM
    (stop). These signals are blocked (see main) and taken here only: one
    that comes during a check stays pending and ends the next wait at once,
    so no check is cut halfway. A stop then waits for lego to finish and its
    certificate to be published (stop_grace_period covers a check): killed
    midway, lego could leave a new key beside an old certificate."""
    got = signal.sigtimedwait({signal.SIGHUP, *STOP}, seconds)
    if got is None:
        return
    if got.si_signo in STOP:
        log("Note", "stopping")
        raise SystemExit(0)
    log("Note", "SIGHUP: checking now")


def main() -> None:
    # lego inherits the mask: only this process acts on them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP, *STOP})
    os.umask(0o077)
    # nginx's group reads the volume's root (it watches it for bundle.pem);
    # others may only pass through, to cert.pem.
    os.chmod(STATE, 0o751)
    os.makedirs(LEGO_PATH, mode=0o700, exist_ok=True)
    # A certificate lego wrote just before a crash, not yet published.
    publish()
    failures = 0
    while True:
        if check():
            failures, delay = 0, CHECK_INTERVAL
        else:
            delay = min(FIRST_RETRY * 2 ** failures, CHECK_INTERVAL)
            failures += 1
            log("Warning", f"lego failed (see above); retrying in {delay // 60} minutes, or at once on "
                           "SIGHUP (docker kill --signal HUP <acme container>)")
        if failures == 0:
            log("Note", f"next check in {delay // 3600} hours")
        wait(delay)


if __name__ == "__main__":
    main()
