"""Static demo content: the company, people, places and vehicles. Conversation scripts are in `scripts`.

The larger tables are plain text, one row a line and cells split by "|" (lists inside a cell by ";"),
so they read like the tables they are.
"""

import random
from datetime import date
from decimal import Decimal
from typing import NamedTuple

SEED = 20250501

COMPANY_NUMBER = "+14155550100"
# The model chain the demo calls ran on (the settings' defaults): LLM_MODEL, then LLM_FALLBACK_MODELS.
LLM_MODEL = "gpt-4.1-mini"
LLM_FALLBACK_MODEL = "gpt-4o-mini"


def rng_for(purpose: str, n: int = 0) -> random.Random:
    """A Random of its own per purpose and row: what one row draws never shifts another's plan."""
    return random.Random(f"{SEED}:{purpose}:{n}")


def money(value: Decimal, currency: str) -> str:
    return f"{CURRENCY_SYMBOL[currency]}{value:,.2f}"


def _table(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


def _items(cell: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in cell.split(";"))


class City(NamedTuple):
    name: str
    region: str  # state or province code
    tz: str
    prefixes: tuple[str, ...]  # country code + area code: where the phone numbers come from
    zips: tuple[str, ...]
    lat: float
    lng: float
    country: str
    currency: str
    highways: tuple[str, ...]


_CITIES = """
nyc | New York       | NY   | America/New_York    | 1212; 1718 | 10025; 11201; 11375 | 40.7128 | -74.0060  | US | USD
bos | Boston         | MA   | America/New_York    | 1617       | 02116; 02130        | 42.3601 | -71.0589  | US | USD
atl | Atlanta        | GA   | America/New_York    | 1404       | 30309; 30318        | 33.7490 | -84.3880  | US | USD
mia | Miami          | FL   | America/New_York    | 1305       | 33130; 33145        | 25.7617 | -80.1918  | US | USD
chi | Chicago        | IL   | America/Chicago     | 1312; 1773 | 60614; 60657; 60622 | 41.8781 | -87.6298  | US | USD
hou | Houston        | TX   | America/Chicago     | 1713       | 77002; 77006        | 29.7604 | -95.3698  | US | USD
dal | Dallas         | TX   | America/Chicago     | 1214       | 75201; 75204        | 32.7767 | -96.7970  | US | USD
msp | Minneapolis    | MN   | America/Chicago     | 1612       | 55401; 55408        | 44.9778 | -93.2650  | US | USD
den | Denver         | CO   | America/Denver      | 1303; 1720 | 80202; 80205; 80210 | 39.7392 | -104.9903 | US | USD
slc | Salt Lake City | UT   | America/Denver      | 1801       | 84101; 84105        | 40.7608 | -111.8910 | US | USD
phx | Phoenix        | AZ   | America/Phoenix     | 1602; 1480 | 85004; 85016        | 33.4484 | -112.0740 | US | USD
lax | Los Angeles    | CA   | America/Los_Angeles | 1213; 1310 | 90012; 90026; 90034 | 34.0522 | -118.2437 | US | USD
oak | Oakland        | CA   | America/Los_Angeles | 1510; 1415 | 94607; 94610        | 37.8044 | -122.2712 | US | USD
sea | Seattle        | WA   | America/Los_Angeles | 1206       | 98101; 98103        | 47.6062 | -122.3321 | US | USD
las | Las Vegas      | NV   | America/Los_Angeles | 1702       | 89101; 89109        | 36.1699 | -115.1398 | US | USD
anc | Anchorage      | AK   | America/Anchorage   | 1907       | 99501; 99503        | 61.2181 | -149.9003 | US | USD
hnl | Honolulu       | HI   | Pacific/Honolulu    | 1808       | 96813; 96815        | 21.3069 | -157.8583 | US | USD
lon | London         | LDN  | Europe/London       | 4420       | SW1A 2AA; E1 6AN    | 51.5074 | -0.1278   | GB | GBP
tor | Toronto        | ON   | America/Toronto     | 1416       | M5V 2T6; M4C 1B5    | 43.6532 | -79.3832  | CA | CAD
mex | Mexico City    | CDMX | America/Mexico_City | 5255       | 06700; 03100        | 19.4326 | -99.1332  | MX | MXN
"""
# Where drivers break down: highways named in roadside calls.
_HIGHWAYS = """
nyc | I-278; the FDR Drive
bos | I-93; I-90
atl | I-85; I-285
mia | I-95; US-1
chi | I-90; I-94; I-290
hou | I-45; I-610
dal | I-35E; I-30
msp | I-35W; I-94
den | I-25; I-70
slc | I-15; I-80
phx | I-10; I-17; Loop 101
lax | the 405; the 101; I-10
oak | I-880; I-580
sea | I-5; SR-99
las | I-15; US-95
anc | the Glenn Highway; the Seward Highway
hnl | the H-1; Nimitz Highway
lon | the A40
tor | Highway 401; the Gardiner
mex | Periférico Sur
"""
CITIES = {
    row[0]: City(*row[1:4], _items(row[4]), _items(row[5]), float(row[6]), float(row[7]), row[8], row[9],
                 _items(highways))
    for row, (_, highways) in zip(_table(_CITIES), _table(_HIGHWAYS), strict=True)
}  # fmt: skip

# 60 customers by city, numbered in this order.
_CUSTOMERS = """
chi | Maria Gonzalez; Darnell Washington; Ethan Walker; Angela Rossi; Destiny Howard
nyc | James Whitaker; Anthony Russo; Fatima Hassan; Patrick Doyle
atl | Aisha Bello; Jasmine Carter; Terrence Mitchell
lax | Daniel Kim; Olivia Martinez; Michelle Yang; Morgan Blake
den | Emily Novak; Nathan Brooks; Derek Phillips; Jordan Ellis
oak | Robert Chen; Maria Lopez; Julia Schmidt
hou | Tanya Brooks; Samuel Adeyemi; Omar Farouk
bos | Kevin O'Brien; Rachel Goldberg; Stephanie Wright
phx | Priya Patel; Luis Herrera; Jorge Castillo; Ryan Murphy
dal | Marcus Johnson; Christopher Hayes; Miguel Torres
mia | Sofia Ramirez; Carmen Delgado; Andre Thompson
msp | Hannah Olsen; Amanda Foster
sea | Grace Liu; Victor Nguyen; Lauren Price
slc | Tyler Reed; Kayla Bennett
hnl | Keanu Kahale; Leilani Akana
anc | Megan Sullivan; Cody Larsen
las | Brittany Cole; Brandon Scott
lon | Oliver Bennett; Charlotte Hughes; Amelia Clarke
tor | Liam Tremblay; Chloe Gagnon; Jacob Singh
mex | Alejandro Ruiz; Valeria Mendoza
"""
CUSTOMERS = [(name, row[0]) for row in _table(_CUSTOMERS) for name in _items(row[1])]


class ExampleCustomer(NamedTuple):
    name: str
    phone: str
    account_number: str
    zip: str
    date_of_birth: date
    vehicle: dict[str, str | int]
    collection_stage: str
    balance: Decimal
    days_overdue: int


# The customer of the README's `simulate_call` examples and the scripts in apps/agent/scenarios (the
# tests' `maria`): these attributes are fixed; the rest is drawn like everyone else's.
EXAMPLE_CUSTOMER = ExampleCustomer(
    name="Maria Lopez",
    phone="+14155550123",
    account_number="ACC0040042",
    zip="94607",
    date_of_birth=date(1985, 3, 5),
    vehicle={"make": "Honda", "model": "Civic", "year": 2019, "color": "silver", "plate": "7MLP042"},
    collection_stage="middle",
    balance=Decimal("1250.50"),
    days_overdue=45,
)

# The number decides their time zone when they are called.
NO_TIMEZONE = frozenset({"Tyler Reed", "Maria Lopez", "Samuel Adeyemi", "Jacob Singh"})
LANGUAGES = {"lon": "en-GB", "tor": "en-CA", "mex": "es-MX"}
# How many customers are in each stage (assigned in a seeded shuffle), their days overdue and balance.
STAGE_COUNTS = {"current": 8, "early": 12, "middle": 12, "late": 10, "severe": 10, "charged_off": 8}
STAGE_DAYS = {"current": (0, 0), "early": (3, 30), "middle": (31, 60), "late": (61, 90), "severe": (91, 180),
              "charged_off": (181, 420)}  # fmt: skip
STAGE_BALANCE = {"current": (0, 450), "early": (150, 900), "middle": (400, 1800), "late": (900, 3500),
                 "severe": (1500, 6000), "charged_off": (3000, 12000)}  # fmt: skip
CURRENCY_FACTOR = {"USD": 1, "CAD": 1.35, "GBP": 0.8, "MXN": 18}
CURRENCY_SYMBOL = {"USD": "$", "CAD": "C$", "GBP": "£", "MXN": "MX$"}

STREETS = _items("Oak Street; Maple Avenue; Willow Boulevard; Lincoln Avenue; Park Place; Cedar Lane; Elm Street; "
                 "Highland Avenue; Lakeview Drive; Sunset Boulevard; Main Street; Pine Street")  # fmt: skip
STORES = _items("Walgreens; Target; Home Depot; Costco; Safeway; Starbucks; Shell station; Walmart")
VEHICLES = tuple(tuple(v.split(" ", 1)) for v in _items(
    "Honda Civic; Toyota Camry; Ford F-150; Chevrolet Malibu; Nissan Altima; Subaru Outback; Hyundai Elantra; "
    "Jeep Grand Cherokee; Kia Sorento; Toyota RAV4; Honda CR-V; Mazda CX-5; Ram 1500; Volkswagen Jetta"))  # fmt: skip
ELECTRIC_VEHICLES = (("Tesla", "Model 3"), ("Chevrolet", "Bolt EV"), ("Nissan", "Leaf"), ("Hyundai", "Ioniq 5"))
COLORS = _items("white; black; silver; gray; blue; red; green; maroon")
RELATIONS = _items("wife; husband; brother; sister; roommate; mom; dad; friend")
HUMAN_AGENTS = _items("Dana; Luis; Priya; Tom; Keisha")
# When the customer asks to be called back ({weekday} is filled in), and in how many days. The agent's
# schedule_callback books the day; the dialer calls at 10:00 the customer's time.
CALLBACK_TIMES = (("tomorrow", 1), ("tomorrow morning", 1), ("on {weekday}", 2), ("on {weekday}", 3),
                  ("{weekday} morning", 3))  # fmt: skip
HARDSHIPS = (
    ("job loss", "Honestly, I lost my job last month and I'm behind on everything."),
    ("medical bills", "I had a medical emergency and the bills piled up. Now there's a late fee on top."),
    ("reduced hours", "My hours got cut at work and I just can't keep up right now."),
)
METHODS = {"card": "card", "bank_transfer": "bank transfer", "online_portal": "the online portal", "check": "check"}


class TechnicianRow(NamedTuple):
    name: str
    city: str  # a CITIES key
    lat: float
    lng: float
    specializations: list[str]
    availability: str


_TECHNICIANS = """
Marcus Hill    | chi | 41.9484 | -87.6553  | towing; battery; tire     | available
Rosa Alvarez   | chi | 41.7943 | -87.5907  | lockout; fuel; battery    | busy
DeShawn Price  | nyc | 40.6782 | -73.9442  | towing; accident; engine  | available
Frank Moretti  | nyc | 40.7282 | -73.7949  | tire; lockout; battery    | off_duty
Tom Becker     | bos | 42.3317 | -71.0956  | battery; tire; fuel       | available
Leon Carter    | atl | 33.7701 | -84.3885  | towing; accident          | available
Yolanda Diaz   | mia | 25.7825 | -80.2300  | tire; fuel; lockout       | busy
Hector Salinas | hou | 29.7499 | -95.3584  | towing; engine; accident  | available
Jake Morrison  | dal | 32.8140 | -96.7880  | battery; tire; lockout    | available
Erik Lindqvist | msp | 44.9483 | -93.2891  | towing; battery; fuel     | off_duty
Carlos Vega    | den | 39.7530 | -104.9997 | towing; tire; ev          | available
Brady Holt     | slc | 40.7450 | -111.8890 | battery; lockout; fuel    | available
Ana Morales    | phx | 33.4942 | -112.0740 | tire; battery; engine     | busy
Kenji Watanabe | lax | 34.0407 | -118.2468 | ev; battery; lockout      | available
Darius Reed    | lax | 33.9425 | -118.4081 | towing; accident; tire    | available
Mei Lin        | oak | 37.8100 | -122.2600 | ev; towing; battery       | available
Owen Gallagher | sea | 47.6205 | -122.3493 | tire; fuel; ev            | busy
Rick Sorensen  | las | 36.1147 | -115.1728 | towing; engine; fuel      | available
Kaleo Makoa    | hnl | 21.2850 | -157.8357 | battery; tire; lockout    | available
Dale Jenkins   | anc | 61.1900 | -149.8700 | towing; battery; fuel     | off_duty
"""
TECHNICIANS = [
    TechnicianRow(row[0], row[1], float(row[2]), float(row[3]), list(_items(row[4])), row[5])
    for row in _table(_TECHNICIANS)
]

DNC_REASONS = {
    "customer_request": "Asked in writing to stop all calls.",
    "call_opt_out": "Said 'stop calling me' on a recorded call.",
    "sms_stop": "Replied STOP to a payment reminder.",
    "manual": "Represented by an attorney; contact counsel only.",
    "imported": "From the national registry import.",
}
APPROVAL_NOTES = {
    "approved": ("Hardship confirmed on the call; first waiver on this account.", "Within policy for this stage."),
    "rejected": ("Waiver already granted this year.", "Offer too low; ask for at least 60% of the balance."),
}
CALL_ERRORS = (
    "Twilio 31005: connection error from the carrier.",
    "Twilio 13224: the number is not reachable.",
    "SIP 503 Service Unavailable from the carrier.",
)
ES_DAYS = _items("lunes; martes; miércoles; jueves; viernes; sábado; domingo")
ES_MONTHS = _items(
    "enero; febrero; marzo; abril; mayo; junio; julio; agosto; septiembre; octubre; noviembre; diciembre"
)
