"""Labelled examples for the redaction tests: what must be redacted, with the exact result, and
what must come back unchanged.

Card numbers are the brands' published test numbers (Luhn-valid, never issued). The forms are how
callers say them and how speech-to-text writes them down.
"""

from typing import NamedTuple

from apps.core.redaction import ACCOUNT, CARD, CVV, ROUTING, SSN


class Positive(NamedTuple):
    text: str
    expected: str
    kinds: tuple[str, ...]


TEST_CARDS = {
    "visa": "4111111111111111",
    "visa 2": "4012888888881881",
    "visa 13": "4222222222222",
    "visa 19": "4000000000000000006",
    "visa debit": "4000056655665556",
    "mastercard": "5555555555554444",
    "mastercard 2": "5105105105105100",
    "mastercard 2-series": "2223003122003222",
    "mastercard debit": "5200828282828210",
    "amex": "378282246310005",
    "amex 2": "371449635398431",
    "discover": "6011111111111117",
    "discover 2": "6011000990139424",
    "diners": "30569309025904",
    "diners 2": "38520000023237",
    "jcb": "3530111333300000",
    "jcb 2": "3566002020360505",
    "unionpay": "6200000000000005",
    "maestro": "6759649826438453",
}
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def grouped(number: str, sep: str = " ") -> str:
    """As printed on the card: 4-6-5 for 15 digits (Amex), 4-6-4 for 14 (Diners), else fours."""
    sizes = {15: (4, 6, 5), 14: (4, 6, 4)}.get(len(number))
    if sizes is None:
        return sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    return sep.join(parts)


def spoken(number: str, zero: str = "zero") -> str:
    return " ".join(zero if d == "0" else _WORDS[int(d)] for d in number)


def _cards() -> list[Positive]:
    """Every test card in every common form, in a sentence."""
    out = []
    for number in TEST_CARDS.values():
        for form in (
            number,
            grouped(number),
            grouped(number, "-"),
            grouped(number, "."),
            grouped(number, " - "),
            spoken(number),
        ):
            out.append(Positive(f"my card number is {form} thanks", f"my card number is {CARD} thanks", ("card",)))
    return out


_VISA = TEST_CARDS["visa 2"]
_AMEX = TEST_CARDS["amex"]

CARD_FORMS = [
    Positive("4012.8888.8888.1881", CARD, ("card",)),
    Positive("3782 - 822463 - 10005", CARD, ("card",)),
    Positive("card 4012/8888/8888/1881 please", f"card {CARD} please", ("card",)),
    Positive("it's 4012, 8888, 8888, 1881.", f"it's {CARD}.", ("card",)),
    Positive("4,012,888,888,881,881", CARD, ("card",)),  # speech-to-text writing it as one big number
    Positive("four oh one two 8888 8888 1881", CARD, ("card",)),
    Positive(
        "four zero one two, eight eight eight eight, eight eight eight eight, one eight eight one", CARD, ("card",)
    ),
    Positive(
        "four oh one two double eight double eight double eight double eight one eight eight one", CARD, ("card",)
    ),
    Positive("four oh one two triple eight eight eight triple eight one eight eight one", CARD, ("card",)),
    Positive("Four One One One, one one one one, one one one one, one one one one", CARD, ("card",)),
    Positive("FOUR ONE ONE ONE ONE ONE ONE ONE ONE ONE ONE ONE ONE ONE ONE ONE", CARD, ("card",)),
    Positive("three seven eight two 822463 one oh oh oh five", CARD, ("card",)),
    Positive("cuatro uno uno uno uno uno uno uno uno uno uno uno uno uno uno uno", CARD, ("card",)),
    Positive("Oh, 4111 1111 1111 1111", f"Oh, {CARD}", ("card",)),
    Positive("um 1 4111 1111 1111 1111", f"um {CARD}", ("card",)),  # a false start goes with it
    Positive(f"{grouped(_VISA)} 12/27 737", CARD, ("card",)),  # expiry and code said straight after go too
    Positive(f"{grouped(_VISA)} 1227 737", CARD, ("card",)),
    Positive(f"{_VISA}737", CARD, ("card",)),  # the code glued on by speech-to-text
    Positive(f"visa {grouped(_VISA, '-')}, exp 01/28", f"visa {CARD}, exp 01/28", ("card",)),
    Positive(f"the amex is {grouped(_AMEX)}", f"the amex is {CARD}", ("card",)),
    Positive("4111  1111   1111    1111", CARD, ("card",)),  # spacing as typed, before anyone tidies it
    Positive("card:\n4111\n1111\n1111\n1111\nthanks", f"card:\n{CARD}\nthanks", ("card",)),
    Positive("4111\t1111\t1111\t1111", CARD, ("card",)),
    Positive(f"reference {_VISA}", f"reference {CARD}", ("card",)),
    Positive(f"Task failed: card={_VISA} declined", f"Task failed: card={CARD} declined", ("card",)),
    Positive(f"{{'card': '{_VISA}'}}", f"{{'card': '{CARD}'}}", ("card",)),
]

CVVS = [
    Positive("the cvv number is 737", f"the cvv number is {CVV}", ("cvv",)),
    Positive("the three digits on the back are 909", f"the three digits on the back are {CVV}", ("cvv",)),
    Positive("security code seven three seven", f"security code {CVV}", ("cvv",)),
    Positive("the cvv is 123", f"the cvv is {CVV}", ("cvv",)),
    Positive("CVV: 4321", f"CVV: {CVV}", ("cvv",)),
    Positive("cvc 123", f"cvc {CVV}", ("cvv",)),
    Positive("the cv2 is 456", f"the cv2 is {CVV}", ("cvv",)),
    Positive("csc 7 3 7", f"csc {CVV}", ("cvv",)),
    Positive("the cvv is\n  737", f"the cvv is\n  {CVV}", ("cvv",)),
    Positive("the card security code is 1234", f"the card security code is {CVV}", ("cvv",)),
    Positive("card code 909", f"card code {CVV}", ("cvv",)),
    Positive("the verification code is 321", f"the verification code is {CVV}", ("cvv",)),
    Positive("the code on the back is nine oh nine", f"the code on the back is {CVV}", ("cvv",)),
    Positive("the code on the back of my card is 456", f"the code on the back of my card is {CVV}", ("cvv",)),
    Positive("the four numbers on the back are 1234", f"the four numbers on the back are {CVV}", ("cvv",)),
    Positive("the number on the back of the card, uh, 282", f"the number on the back of the card, uh, {CVV}", ("cvv",)),
    Positive("3 digit code is 555", f"3 digit code is {CVV}", ("cvv",)),
    Positive("cvv: seven, three, seven", f"cvv: {CVV}", ("cvv",)),
    Positive("737 is the cvv", f"{CVV} is the cvv", ("cvv",)),
    Positive("seven three seven is my security code", f"{CVV} is my security code", ("cvv",)),
    Positive("el código de seguridad es 737", f"el código de seguridad es {CVV}", ("cvv",)),
    Positive(f"card {grouped(_VISA)}, code 737", f"card {CARD}, code {CVV}", ("card", "cvv")),
    Positive(
        f"my card number is {grouped(_VISA)} expiry 12/27 cvv 123",
        f"my card number is {CARD} expiry 12/27 cvv {CVV}",
        ("card", "cvv"),
    ),
]

SSNS = [
    Positive("one two three four five six seven eight nine", SSN, ("ssn",)),  # asked for it, said it
    Positive("uh, nine eight seven six five four three two one", f"uh, {SSN}", ("ssn",)),
    Positive("sure, it's five five five, one two, three four five six", f"sure, it's {SSN}", ("ssn",)),
    Positive(
        "social security number one two three four five six seven eight nine", f"social security number {SSN}", ("ssn",)
    ),
    Positive("my social is 123456789", f"my social is {SSN}", ("ssn",)),
    Positive("my social is 123 456 789", f"my social is {SSN}", ("ssn",)),
    Positive("ssn 123-45-6789", f"ssn {SSN}", ("ssn",)),
    Positive("123-45-6789", SSN, ("ssn",)),
    Positive("it's 123 45 6789", f"it's {SSN}", ("ssn",)),
    Positive("it's 123  45  6789", f"it's {SSN}", ("ssn",)),
    Positive("it's 123 - 45 - 6789", f"it's {SSN}", ("ssn",)),
    Positive("my social security number is 123456789", f"my social security number is {SSN}", ("ssn",)),
    Positive("SSN: 078-05-1120", f"SSN: {SSN}", ("ssn",)),
    Positive("my ssn is one two three, four five, six seven eight nine", f"my ssn is {SSN}", ("ssn",)),
    Positive("social is uh 1 2 3 4 5 6 7 8 9", f"social is uh {SSN}", ("ssn",)),
    Positive("last four of my social are 6789", f"last four of my social are {SSN}", ("ssn",)),
    Positive(
        "the last four digits of my social security number are six seven eight nine",
        f"the last four digits of my social security number are {SSN}",
        ("ssn",),
    ),
    Positive("my social ends in 6789", f"my social ends in {SSN}", ("ssn",)),
    Positive("mi seguro social es 123456789", f"mi seguro social es {SSN}", ("ssn",)),
    Positive("social security no. 123-45-6789", f"social security no. {SSN}", ("ssn",)),
]

BANK = [
    Positive("routing number 021000021", f"routing number {ROUTING}", ("routing",)),
    Positive("routing number zero two one zero zero zero zero two one", f"routing number {ROUTING}", ("routing",)),
    Positive("the ABA is 011000015", f"the ABA is {ROUTING}", ("routing",)),
    Positive("sort code 20-00-00", f"sort code {ROUTING}", ("routing",)),
    Positive("my bank account number is 12345678", f"my bank account number is {ACCOUNT}", ("bank_account",)),
    Positive("checking account 000123456789", f"checking account {ACCOUNT}", ("bank_account",)),
    Positive("savings account number: 9876543210", f"savings account number: {ACCOUNT}", ("bank_account",)),
    Positive(
        "my bank account is one two three four five six seven eight nine",
        f"my bank account is {ACCOUNT}",
        ("bank_account",),
    ),
    Positive(
        "my bank account number is 12345678 and routing number 021000021",
        f"my bank account number is {ACCOUNT} and routing number {ROUTING}",
        ("routing", "bank_account"),
    ),
    Positive(
        "account number 12345678, routing 021000021",
        f"account number {ACCOUNT}, routing {ROUTING}",
        ("routing", "bank_account"),
    ),
    Positive("my checking number is 4455667788", f"my checking number is {ACCOUNT}", ("bank_account",)),
]

POSITIVES: list[Positive] = _cards() + CARD_FORMS + CVVS + SSNS + BANK

NEGATIVES = [
    # dates
    "the 15th of March",
    "03/15/2026",
    "2026-03-15",
    "15.03.2026",
    "I was born on March 3rd, 1985",
    "DOB 1985-03-15",
    "my date of birth is oh three one five nineteen eighty five",
    "between 03/15/2026 and 04/15/2026",
    "dates 03/15/2026 - 04/15/2026",
    "2026-03-15 2026-04-15 2026-05-15",
    "2026-03-15T10:30:00.123456+00:00",
    "my card expires 12/27",
    "expiry oh one twenty eight",
    # amounts
    "$1,025.50",
    "Your balance is $1,025.50, 30 days past due.",
    "three hundred dollars",
    "1,200",
    "I can pay 300 dollars on the 28th",
    "I'll pay one fifty on Friday",
    "amount $12,345,678,901,234.00",
    "€1.234,56",
    "my savings account is 12,000",
    "my checking account has 2,500 dollars in it",
    "nine hundred ninety nine dollars and ninety nine cents",
    # phone numbers
    "call me at +1 415 555 0100",
    "(415) 555-0100",
    "415-555-0100",
    "415.555.0100",
    "1-800-555-0199",
    "+44 20 7946 0958",
    "+1 (415) 555-0100 ext. 23",
    "my number is 415-555-0100 or 415-555-0199",
    "four one five, five five five, zero one zero zero",
    "one four one five five five five zero one zero zero",
    "my cell is four one five five five five zero one nine nine",
    "+14155550101",
    # ZIP codes
    "94107",
    "94107-1234",
    "my zip is 94607",
    "my zip is nine four one zero seven",
    "my zip is nine four one zero seven one two three four",
    "zip code 941071234",
    "my card's zip code is 94107",
    # our own account numbers and references: they identify the caller
    "my account number is ACC0000001",
    "It's Maria Lopez. My account number is NW00048213.",
    "Maria Lopez, account NW00056132.",
    "my account number is 00048213",
    "account 0040042 please",
    "my account number is 123456789",
    "my account number is A C C zero zero four zero zero four two",
    "my account number is one two three four five six seven eight nine",
    "account number N W zero zero zero four eight two one three",
    "The last four are 0001.",
    "Last four digits, 4213.",
    "my account ends in 4321 and my zip is 94607",
    "reference REF-2026-000123",
    "my reference is one two three four five six seven eight nine",
    "confirmation number 123456789",
    "order #123456789",
    "order 1234567890123",
    "case 00123456",
    # times
    "10:30",
    "at 10:30 am",
    "14:45:30",
    "call me back at 5",
    "It's two thirty",
    "between 9 and 5",
    # percentages, years, counts
    "15%",
    "3.5% interest",
    "in 2019",
    "back in 2019 I paid 300",
    "twenty twenty six",
    "I have two kids and one car",
    "four or five days",
    "one or two payments of five hundred",
    "1 2 3",
    "one two three",
    "one, two, three, four",
    # addresses
    "1600 Amphitheatre Parkway",
    "221B Baker Street",
    "350 Fifth Avenue, Suite 3300, New York, NY 10118",
    "unit 4, 12 Main St, Springfield 62704",
    # vehicles
    "my plate is 7ABC123",
    "plate 8XYZ456",
    "VIN 1HGCM82633A004352",
    "a 2019 Honda Civic",
    # numbers in logs
    "took 0.4111111111111111 s",
    "Task succeeded in 0.4111111111111111s",
    "pi is 3.1415926535897932",
    "ratio 0.5500005555555559",
    "latency_ms=1234.5678 tokens=4096",
    "{'id': 12345, 'amount': '1025.50'}",
    "ip 192.168.100.200 and 10.0.0.1",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "version 3.11.7",
    "order ids [101, 102, 103, 104, 105]",
    # card talk without a number in full
    "the last four digits of my card are 4242",
    "card ending in 1111",
    "4111 1111 1111 1112",  # fails the Luhn check
    "what is a cvv?",
    "the cvv is on the back",
    "cvv is three digits",
    "code 1234",
    "area code 415",
    "my zip code is 94107",
    "promo code 2024",
    "the security code was sent to my phone",
    # bank talk without numbers
    "I'll pay by bank transfer from my checking account on the 15th",
    "I'll pay from my savings account on March 15",
    "can you send me the routing number?",
    "you keep routing me to the wrong person",
    "my social media is fine",
    "social security pays me on the 3rd",
    "social security sends 1,200",
]
