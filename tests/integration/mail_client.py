# One mail login for the mail integration tests (mail_lib.sh runs it; not a
# test itself: the tests are the *.sh files), with python3's own clients:
#   mail_client.py imap PORT USER        LOGIN, then SELECT INBOX
#   mail_client.py pop3 PORT USER        USER/PASS, then STAT
#   mail_client.py submission PORT USER  EHLO, AUTH PLAIN (Dovecot's submission)
#   mail_client.py smtp PORT USER        EHLO, AUTH PLAIN (Postfix's smtpd)
# The password comes from the environment (MAIL_PW), never the command line.
# With --send after USER, a signed-in SMTP session also sends one message
# (Postfix discards it). Prints the server's answer to the login; exit 0:
# signed in (and, for IMAP, INBOX selected), 1: the login was refused, 2:
# anything else (no connection, a protocol error, a refused SELECT).
# AUTH is sent as PLAIN only: smtplib's login() falls back to LOGIN after a
# refusal, which would make a second PAM call.
import imaplib
import os
import poplib
import smtplib
import socket
import sys

HOST = "127.0.0.1"
TIMEOUT = 10


def out(kind, text):
    if isinstance(text, BaseException) and text.args:
        text = text.args[0]
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    print("%s: %s" % (kind, str(text).strip()))


def imap(port, user, pw):
    c = imaplib.IMAP4(HOST, port, timeout=TIMEOUT)
    try:
        typ, data = c.login(user, pw)
    except imaplib.IMAP4.error as e:
        out("refused", e)
        return 1
    out("signed in", data[0] if data else typ)
    typ, data = c.select("INBOX")
    if typ != "OK":
        out("select refused", data[0] if data else typ)
        return 2
    out("select", "INBOX %s, %s messages" % (typ, data[0].decode() if data else "?"))
    c.logout()
    return 0


def pop3(port, user, pw):
    c = poplib.POP3(HOST, port, timeout=TIMEOUT)
    try:
        c.user(user)
        reply = c.pass_(pw)
    except poplib.error_proto as e:
        out("refused", e)
        return 1
    out("signed in", reply)
    out("stat", "%d messages" % c.stat()[0])
    c.quit()
    return 0


def smtp(port, user, pw, send):
    c = smtplib.SMTP(HOST, port, timeout=TIMEOUT)
    c.ehlo("client.test")
    if not c.has_extn("auth"):
        out("error", "the server offers no AUTH: %r" % c.esmtp_features)
        return 2
    c.user, c.password = user, pw
    try:
        code, reply = c.auth("PLAIN", c.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        out("refused", "%d %s" % (e.smtp_code, e.smtp_error.decode("utf-8", "replace")))
        return 1
    out("signed in", "%d %s" % (code, reply.decode("utf-8", "replace")))
    if send:
        refused = c.sendmail(user + "@mail.test", ["someone@example.test"],
                             "Subject: sesame mail test\r\n\r\nhello\r\n")
        if refused:
            out("send refused", refused)
            return 2
        out("sent", "one message to someone@example.test")
    c.quit()
    return 0


def main():
    if len(sys.argv) not in (4, 5) or (len(sys.argv) == 5 and sys.argv[4] != "--send"):
        sys.exit("usage: mail_client.py imap|pop3|submission|smtp PORT USER [--send]")
    proto, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    send = len(sys.argv) == 5
    pw = os.environ.get("MAIL_PW")
    if pw is None:
        sys.exit("mail_client.py: MAIL_PW is not set")
    try:
        if proto == "imap":
            return imap(port, user, pw)
        if proto == "pop3":
            return pop3(port, user, pw)
        if proto in ("submission", "smtp"):
            return smtp(port, user, pw, send)
        sys.exit("mail_client.py: unknown protocol " + proto)
    except (OSError, socket.timeout, imaplib.IMAP4.abort, poplib.error_proto,
            smtplib.SMTPException) as e:
        out("error", "%s: %s" % (type(e).__name__, e))
        return 2


if __name__ == "__main__":
    sys.exit(main())
