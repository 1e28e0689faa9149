"""A real SMTP server for Kabinet's tests (aiosmtpd) on a loopback port.

  smtp_sink.py --security none|starttls|tls [--user U --password P] [--fail-first N]

With TLS it makes a throw-away CA and a certificate for localhost (trustme)
and writes the CA's PEM to --ca-out. It prints `READY <port>` once it
listens, then one JSON line per accepted message: the envelope, the decoded
subject and text, and the login that authenticated. The first N messages get
a temporary failure (451), to exercise retries. It exits when stdin closes.
"""
import argparse
import email
import email.policy
import json
import socket
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    def __init__(self, fail_first):
        self.fail_left = fail_first

    async def handle_DATA(self, server, session, envelope):
        if self.fail_left > 0:
            self.fail_left -= 1
            return "451 4.3.0 try again later"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["from"]),
            "to": str(message["to"]),
            "subject": str(message["subject"]),
            "text": body.get_content() if body is not None else "",
            "auth_login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        print(json.dumps(record, ensure_ascii=False), flush=True)
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--security", choices=["none", "starttls", "tls"], default="none")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--ca-out")
    args = ap.parse_args()

    context = None
    if args.security != "none":
        import ssl
        import trustme
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        ca.cert_pem.write_to_path(args.ca_out)

    params = {}
    if args.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == args.user.encode()
                  and auth_data.password == args.password.encode())
            if ok:
                return AuthResult(success=True, auth_data=auth_data)
            # Not handled: aiosmtpd answers 535 itself.
            return AuthResult(success=False, handled=False)
        params.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=args.security == "starttls")
    if args.security == "starttls":
        params.update(tls_context=context, require_starttls=True)

    port = free_port()
    controller = Controller(
        Handler(args.fail_first),
        hostname="127.0.0.1",
        port=port,
        ssl_context=context if args.security == "tls" else None,
        server_hostname="localhost",
        **params,
    )
    controller.start()
    print(f"READY {port}", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
