"""Generates the labeled evaluation corpus eval/corpus.txt with Faker.

Each line is one short document. Every PII item the scanner should report is
marked `[[KIND|text]]` (KIND is EMAIL, PHONE_US, SSN, CREDIT_CARD, API_KEY or
IP_ADDRESS); decoys (order numbers, dates, times, versions, code, MAC
addresses, barcodes, prices) are left unmarked and must not be reported.
The output is deterministic for a given Faker version and seed.

    pip install faker
    python3 eval/generate.py            # writes eval/corpus.txt
"""

import ipaddress
import random
import string
import sys

from faker import Faker

SEED = 20240601
DOCS = 1500

fake = Faker("en_US")
uk = Faker("en_GB")
Faker.seed(SEED)
rng = random.Random(SEED)

CARD_TYPES = [
    "maestro", "mastercard", "visa16", "visa13", "visa19",
    "amex", "discover", "diners", "jcb15", "jcb16",
]


def rand_chars(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits


def grouped(number: str) -> str:
    sep = rng.choice([" ", "-"])
    if len(number) == 15 and number[:2] in ("34", "37"):
        parts = [number[:4], number[4:10], number[10:]]
    elif len(number) == 14:
        parts = [number[:4], number[4:10], number[10:]]
    else:
        parts = [number[i:i + 4] for i in range(0, len(number), 4)]
    return sep.join(parts)


def email() -> str:
    return rng.choice([fake.email, fake.company_email, fake.free_email, fake.ascii_safe_email])()


def phone() -> str:
    style = rng.random()
    if style < 0.75:
        return fake.phone_number()
    digits = fake.numerify("$##$##%###")
    area, exch, line = digits[:3], digits[3:6], digits[6:]
    return rng.choice([
        f"({area}) {exch}-{line}",
        f"+1 {area} {exch} {line}",
        f"+1 ({area}) {exch}-{line}",
        f"1-{area}-{exch}-{line}",
        f"{area} {exch} {line}",
        f"{area}-{exch}-{line} ext. {rng.randint(1, 9999)}",
    ])


def card() -> str:
    number = fake.credit_card_number(card_type=rng.choice(CARD_TYPES))
    return grouped(number) if rng.random() < 0.4 else number


def ip() -> str:
    kind = rng.random()
    if kind < 0.5:
        return rng.choice([fake.ipv4, fake.ipv4_private, fake.ipv4_public])()
    address = ipaddress.ip_address(fake.ipv6())
    return address.compressed if rng.random() < 0.5 else address.exploded


def api_key() -> str:
    return rng.choice([
        lambda: "sk-" + rand_chars(ALNUM, 48),
        lambda: "sk-proj-" + rand_chars(ALNUM + "_-", 40) + rand_chars(string.digits, 2),
        lambda: "sk-svcacct-" + rand_chars(ALNUM + "_-", 40) + rand_chars(string.digits, 2),
        lambda: "sk-ant-api03-" + rand_chars(ALNUM + "_-", 90) + "AA",
        lambda: rng.choice(["AKIA", "ASIA"]) + rand_chars(UPPER, 16),
        lambda: "ghp_" + rand_chars(ALNUM, 36),
        lambda: "github_pat_" + rand_chars(ALNUM, 22) + "_" + rand_chars(ALNUM, 59),
        lambda: "AIza" + rand_chars(ALNUM + "_-", 35),
        lambda: "xoxb-" + rand_chars(string.digits, 12) + "-" + rand_chars(string.digits, 13) + "-" + rand_chars(ALNUM, 24),
        lambda: rng.choice(["sk_live_", "rk_live_"]) + rand_chars(ALNUM, 24),
        lambda: "Bearer " + "eyJ" + rand_chars(ALNUM, 30) + "." + rand_chars(ALNUM + "-_", 40),
    ])()


def decoy() -> str:
    return rng.choice([
        lambda: f"Order #{fake.random_number(digits=10, fix_len=True)}",
        lambda: f"order number {fake.random_number(digits=10, fix_len=True)}",
        lambda: f"invoice {fake.random_number(digits=rng.randint(8, 16), fix_len=True)}",
        lambda: f"tracking number {fake.random_number(digits=rng.randint(12, 18), fix_len=True)}",
        lambda: f"on {fake.date()}",
        lambda: f"at {fake.time()}",
        lambda: f"timestamp {fake.date_time().isoformat()}",
        lambda: f"version {fake.numerify('#.#.#.#')}",
        lambda: f"v{fake.numerify('#.##.#.#')}",
        lambda: f"release {rng.randint(1, 20)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}",
        lambda: rng.choice(["std::vector<int>", "Foo::Bar::baz()", "a::b", "crate::io::Result", "Vec::new()"]),
        lambda: f"MAC {fake.mac_address()}",
        lambda: f"barcode {fake.ean13()}",
        lambda: f"ISBN {fake.isbn13()}",
        lambda: f"ZIP {fake.zipcode()}",
        lambda: f"costs ${fake.pydecimal(left_digits=5, right_digits=2, positive=True)}",
        lambda: f"at {fake.street_address()}",
        lambda: f"id {fake.uuid4()}",
        lambda: f"commit {fake.sha1()[:12]}",
        lambda: f"port {fake.port_number()}",
        lambda: f"see {fake.url()}",
        lambda: f"UK office {uk.phone_number()}",
        lambda: f"MSISDN {fake.msisdn()}",
        lambda: f"IBAN {fake.iban()}",
        lambda: f"routing {fake.aba()}",
        lambda: f"EAN-8 {fake.ean8()}",
        lambda: f"expires {fake.credit_card_expire()}",
        lambda: f"CVV {fake.credit_card_security_code()}",
        lambda: f"due {fake.date(pattern='%m/%d/%Y')}",
        lambda: f"SKU-{fake.numerify('#####-###')}",
        lambda: f"call extension {fake.numerify('####')}",
        lambda: f"{rng.randint(2, 999)} items at {rng.randint(1, 99)}.{rng.randint(0, 99):02d} each",
    ])()


KINDS = [
    ("EMAIL", email), ("PHONE_US", phone), ("SSN", fake.ssn),
    ("CREDIT_CARD", card), ("IP_ADDRESS", ip), ("API_KEY", api_key),
]
LEADS = ["Contact", "Reach", "Use", "Send it to", "Found", "The value is", "Try", "Logged"]


def document() -> str:
    parts = [fake.sentence()]
    for _ in range(rng.randint(1, 3)):
        kind, make = rng.choice(KINDS)
        parts.append(f"{rng.choice(LEADS)} [[{kind}|{make()}]]{rng.choice(['.', ',', ';', ' now.', ''])}")
    for _ in range(rng.randint(0, 2)):
        parts.insert(rng.randint(0, len(parts)), decoy() + ".")
    parts.append(fake.sentence())
    return " ".join(parts)


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "eval/corpus.txt"
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(DOCS):
            f.write(document() + "\n")


if __name__ == "__main__":
    main()
