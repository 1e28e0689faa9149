#!/usr/bin/env python3
"""Writes the hand-made seed inputs of every fuzz target into fuzz/corpus/.

Run once when a target is added or its input layout changes; the corpus the
fuzzer grows from these is kept in the repository as well. The WebAuthn seeds
use the published py_webauthn browser vectors (also in the unit tests of
crates/kabinet-domain/src/webauthn.rs) and synthetic ceremonies signed here
with the `cryptography` package (ECDSA signatures are random, so rerunning
changes those files).
"""

import base64
import hashlib
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


def field(data):
    if isinstance(data, str):
        data = data.encode()
    return struct.pack("<H", len(data)) + data


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def settlement(bik, body):
    """A settlement account `body` (20 digits) with its key set for `bik`."""
    weights = [7, 1, 3]
    for key in "0123456789":
        account = body[:8] + key + body[9:]
        digits = bik[6:9] + account
        if sum(int(d) * weights[i % 3] for i, d in enumerate(digits)) % 10 == 0:
            return account
    raise ValueError(body)


# --- requisites -------------------------------------------------------------
for name, text in {
    "inn10": "7707083893",
    "inn12": "500100732259",
    "inn-bad": "7707083894",
    "kpp": "773601001",
    "kpp-letters": "7736ab001",
    "ogrn": "1027700132195",
    "ogrnip": "304500116000157",
    "bik": "044525225",
    "account-number": "ACC-2024-0001",
    "correspondent": "044525225\n30101810400000000225",
    "correspondent-spaced": " 30101 81040 00000 00225 ",
    "settlement": "044525225\n" + settlement("044525225", "40702810000000012345"),
}.items():
    write("requisites", name, text)

# --- phone ------------------------------------------------------------------
for i, text in enumerate([
    "+7 (495) 123-45-67", "8 495 123 45 67", "4951234567", "7-495-123-45-67",
    "+44 20 7946 0958", "+1.202.555.0143", "+0123456789", "8 (495) 123-45-67 ext 5",
]):
    write("phone", str(i), text)

# --- money ------------------------------------------------------------------
for i, text in enumerate([
    "1500", "1 500,5", "-20.75", "0.01", "999999999999999.99", "-0", "1.234", " 12 345 678,90 ",
]):
    write("money", str(i), text)

# --- login ------------------------------------------------------------------
for i, text in enumerate([
    "ivanov2024", " Petrov ", "Info@Example.RU", "почта@пример.рф", "a.b-c+tag@sub.example.com",
    "correct horse battery staple", "password", "client_user", "account_admin", "blocked",
]):
    write("login", str(i), text)

# --- search -----------------------------------------------------------------
for i, text in enumerate([
    "РОМАШКА Ёлка", "+7 (495) 123-45", "12", "7707083893", "new ways 100%_x|y",
    "ООО «Новые пути» Москва Тверская 1 2 3 4 5", "Straße ΣΊΣΥΦΟΣ İstanbul",
]):
    write("search", str(i), text)

# --- ip_rules ---------------------------------------------------------------
for i, text in enumerate([
    "203.0.113.7", "10.1.2.3/8", "2001:db8::/32", "::ffff:10.9.9.9", "0.0.0.0/0", " ::1/128 ",
    "203.0.113.7\n10.1.2.3/8\n\n2001:db8::/32\n10.200.0.1", "10.0.0.0/33", "log", "strict",
]):
    write("ip_rules", str(i), text)

# --- avatar -----------------------------------------------------------------
def png(w, h):
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + struct.pack(">II", w, h) + bytes([8, 6, 0, 0, 0])


def gif(w, h):
    return b"GIF89a" + struct.pack("<HH", w, h) + b"\x00\x00\x00"


def jpeg(w, h):
    return (bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46, 0xFF, 0xC0, 0x00, 0x11, 0x08])
            + struct.pack(">HH", h, w) + bytes([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]))


write("avatar", "png", png(80, 80))
write("avatar", "png-big", png(640, 480))
write("avatar", "gif", gif(80, 80))
write("avatar", "jpeg", jpeg(80, 80))
write("avatar", "jpeg-big", jpeg(640, 480))
write("avatar", "svg", "<svg onload=alert(1)>")
write("avatar", "content-type", "image/png")

# --- totp -------------------------------------------------------------------
def totp(secret, now, last, typed):
    flag = b"\x01" if last is not None else b"\x00"
    return field(secret) + struct.pack("<q", now) + flag + struct.pack("<q", last or 0) + typed.encode()


write("totp", "rfc6238", totp(b"12345678901234567890", 59, None, "287082"))
write("totp", "rfc6238-spaced", totp(b"12345678901234567890", 1111111109, None, "081 804"))
write("totp", "replay", totp(b"12345678901234567890", 1111111111, 37037037, "050471"))
write("totp", "base32", totp(b"foobar", 0, None, "mzxw 6ytb oi======"))
write("totp", "uri", totp(b"a secret of twenty b", 1800000000, None, "ООО Ромашка\nivanov@example.ru"))

# --- webauthn ---------------------------------------------------------------
REG = 0
GET = 1
UV = 4

real_att = b64d("o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjESZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2NFAAAAFwAAAAAAAAAAAAAAAAAAAAAAQPctcQPE5oNRRJk_nO_371mf7qE7qIodzr0eOf6ACvnMB1oQG165dqutoi1U44shGezu5_gkTjmOPeJO0N8a7P-lAQIDJiABIVggSFbUJF-42Ug3pdM8rDRFu_N5oiVEysPDB6n66r_7dZAiWCDUVnB39FlGypL-qAoIO9xWHtJygo2jfDmHl-_eKFRLDA")
real_cd = b64d("eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiVHdON240V1R5R0tMYzRaWS1xR3NGcUtuSE00bmdscXN5VjBJQ0psTjJUTzlYaVJ5RnRya2FEd1V2c3FsLWdrTEpYUDZmbkYxTWxyWjUzTW00UjdDdnciLCJvcmlnaW4iOiJodHRwOi8vbG9jYWxob3N0OjUwMDAiLCJjcm9zc09yaWdpbiI6ZmFsc2V9")
real_ch = b64d("TwN7n4WTyGKLc4ZY-qGsFqKnHM4nglqsyV0ICJlN2TO9XiRyFtrkaDwUvsql-gkLJXP6fnF1MlrZ53Mm4R7Cvw")
write("webauthn", "real-registration",
      bytes([REG | UV]) + field(real_cd) + field(real_att) + field(real_ch)
      + field("http://localhost:5000") + field("localhost"))

real_key = b64d("pQECAyYgASFYIIeDTe-gN8A-zQclHoRnGFWN8ehM1b7yAsa8I8KIvmplIlgg4nFGT5px8o6gpPZZhO01wdy9crDSA_Ngtkx0vGpvPHI")
real_get_cd = b64d("eyJjaGFsbGVuZ2UiOiJ4aTMwR1BHQUZZUnhWRHBZMXNNMTBEYUx6VlFHNjZudi1fN1JVYXpIMHZJMll2RzhMWWdERW52TjVmWlpOVnV2RUR1TWk5dGUzVkxxYjQyTjBma0xHQSIsImNsaWVudEV4dGVuc2lvbnMiOnt9LCJoYXNoQWxnb3JpdGhtIjoiU0hBLTI1NiIsIm9yaWdpbiI6Imh0dHA6Ly9sb2NhbGhvc3Q6NTAwMCIsInR5cGUiOiJ3ZWJhdXRobi5nZXQifQ")
real_auth = b64d("SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MBAAAATg")
real_sig = b64d("MEUCIGisVZOBapCWbnJJvjelIzwpixxIwkjCCb5aCHafQu68AiEA88v-2pJNNApPFwAKFiNuf82-2hBxYW5kGwVweeoxCwo")
real_get_ch = b64d("xi30GPGAFYRxVDpY1sM10DaLzVQG66nv-_7RUazH0vI2YvG8LYgDEnvN5fZZNVuvEDuMi9te3VLqb42N0fkLGA")
write("webauthn", "real-sign-in",
      bytes([GET]) + field(real_key) + field(struct.pack("<I", 77)) + field(real_get_cd)
      + field(real_auth) + field(real_sig) + field(real_get_ch)
      + field("http://localhost:5000") + field("localhost"))


def head(major, n):
    major <<= 5
    if n < 24:
        return bytes([major | n])
    if n <= 0xFF:
        return bytes([major | 24, n])
    if n <= 0xFFFF:
        return bytes([major | 25]) + struct.pack(">H", n)
    if n <= 0xFFFFFFFF:
        return bytes([major | 26]) + struct.pack(">I", n)
    return bytes([major | 27]) + struct.pack(">Q", n)


def cint(n):
    return head(0, n) if n >= 0 else head(1, -1 - n)


def cbytes(b):
    return head(2, len(b)) + b


def ctext(s):
    return head(3, len(s.encode())) + s.encode()


def cmap(entries):
    return head(5, len(entries)) + b"".join(k + v for k, v in entries)


def carray(items):
    return head(4, len(items)) + b"".join(items)


try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    RP_ID = "kabinet.example"
    ORIGIN = "https://kabinet.example"
    CHALLENGE = b"0123456789abcdef-registration-challenge"
    LOGIN_CHALLENGE = b"fedcba9876543210-sign-in-challenge"
    CRED_ID = b"credential-0001"
    key = ec.derive_private_key(0x42 * (2**248 // 0xFF), ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    cose = cmap([
        (cint(1), cint(2)), (cint(3), cint(-7)), (cint(-1), cint(1)),
        (cint(-2), cbytes(numbers.x.to_bytes(32, "big"))),
        (cint(-3), cbytes(numbers.y.to_bytes(32, "big"))),
    ])

    def client_data(kind, challenge):
        return ('{"type":"%s","challenge":"%s","origin":"%s","crossOrigin":false}'
                % (kind, b64e(challenge), ORIGIN)).encode()

    def auth_data(flags, count, attested):
        data = hashlib.sha256(RP_ID.encode()).digest() + bytes([flags]) + struct.pack(">I", count)
        if attested is not None:
            data += b"\xAA" * 16 + struct.pack(">H", len(CRED_ID)) + CRED_ID + attested
        return data

    def sign(auth, cd):
        return key.sign(auth + hashlib.sha256(cd).digest(), ec.ECDSA(hashes.SHA256()))

    def attestation(fmt, statement, auth):
        return cmap([(ctext("fmt"), ctext(fmt)), (ctext("attStmt"), statement),
                     (ctext("authData"), cbytes(auth))])

    def registration(mode, cd, att):
        return (bytes([mode]) + field(cd) + field(att) + field(CHALLENGE) + field(ORIGIN)
                + field(RP_ID))

    cd = client_data("webauthn.create", CHALLENGE)
    auth = auth_data(0x45, 0, cose)
    write("webauthn", "none", registration(REG | UV, cd, attestation("none", cmap([]), auth)))
    packed = cmap([(ctext("alg"), cint(-7)), (ctext("sig"), cbytes(sign(auth, cd)))])
    write("webauthn", "packed-self", registration(REG | UV, cd, attestation("packed", packed, auth)))
    chain = cmap([(ctext("alg"), cint(-7)), (ctext("sig"), cbytes(b"\x30\x00")),
                  (ctext("x5c"), carray([cbytes(b"certificate")]))])
    write("webauthn", "packed-x5c", registration(REG, cd, attestation("packed", chain, auth)))
    # Attested credential data followed by an extensions map (ED flag).
    auth_ed = auth_data(0xC5, 0, cose) + cmap([(ctext("credProtect"), cint(2))])
    write("webauthn", "extensions", registration(REG, cd, attestation("none", cmap([]), auth_ed)))

    get_cd = ('{"origin":"%s","type":"webauthn.get","challenge":"%s","tokenBinding":{"status":"supported"},"other":[1,2.5e-3,null,"\\u00e9\\ud83d\\ude00"]}'
              % (ORIGIN, b64e(LOGIN_CHALLENGE))).encode()
    get_auth = auth_data(0x05, 7, None)
    write("webauthn", "sign-in",
          bytes([GET | UV]) + field(cose) + field(struct.pack("<I", 6)) + field(get_cd)
          + field(get_auth) + field(sign(get_auth, get_cd)) + field(LOGIN_CHALLENGE)
          + field(ORIGIN) + field(RP_ID))
    write("webauthn", "cbor-cose-key", bytes([2]) + cose)
except ImportError:
    print("cryptography is not installed: synthetic WebAuthn seeds skipped")

write("webauthn", "cbor-attestation", bytes([2]) + real_att)
write("webauthn", "cbor-kinds", bytes([2]) + carray([
    cint(0), cint(-1), cint(2**64 - 1), cint(-(2**64)), cbytes(b"\x00\xff"), ctext("é€😀"),
    cmap([(ctext("a"), cint(1)), (cint(-2), carray([]))]), head(6, 1) + cint(1363896240),
    bytes([0xf4]), bytes([0xf5]), bytes([0xf6]), bytes([0xf7]), bytes([0xf0]), bytes([0xf8, 0x20]),
    bytes([0xf9, 0x3c, 0x00]), bytes([0xfa, 0x47, 0xc3, 0x50, 0x00]), bytes([0xfb]) + struct.pack(">d", 1.1),
]))
write("webauthn", "b64url", bytes([3]) + b"Zm9vYmFy")
write("webauthn", "b64url-short", bytes([3]) + b"Zm8")

# --- forms ------------------------------------------------------------------
company = [
    "  New Ways Company ", "NW-1", "ACC-0001", "100", "+7 495 000-00-01",
    "+7 (495) 123-45-67;8 495 123 45 67;+44 20 7946 0958", "Москва", "Центр",
    "7707083893;500100732259", "773601001", "1027700132195", "044525225", "ПАО Сбербанк",
    "30101810400000000225", settlement("044525225", "40702810000000012345"),
    "Москва, ул. Вавилова, 19", "", "Info@Example.RU", "8 495 500 55 50", "Europe/Moscow",
    "3000", "Базовый", "1 500,50", "-20", "1",
]
user = [
    "ivanov", "Иван", "Иванов", "Иванович", "Иванов Иван Иванович", "Ivan Ivanov",
    "Ivanov@Example.RU", "+7 (495) 123-45-67", "89161234567", "Менеджер", "client_user",
    "active", "ivanov",
]
write("forms", "company-user", bytes([0]) + "\n".join(company + user).encode())
write("forms", "provider-email-login", bytes([0x20 | 0x40 | 0x08]) + "\n".join(company + ["IVANOV@example.ru"] + user[1:]).encode())
write("forms", "current-login", bytes([0x80 | 0x01]) + "\n".join(company + ["OldLogin_1"] + user[1:12] + ["OldLogin_1"]).encode())
write("forms", "registration", bytes([3]) + "\n".join(["Ромашка", "", "", "", "", "", "", "", "7707083893"] + [""] * 16 + ["", "Анна", "Смирнова", "", "", "", "anna@example.ru"]).encode())
write("forms", "errors", bytes([0]) + "\n".join([" ", "", "", "", "", "", "", "", "7707083894;123", "77", "", "", "", "", "40702810938000012345", "", "", "nope", "", "Moon/Base", "0"]).encode())
