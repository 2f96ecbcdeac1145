"""Reference data: ``GET /services`` (delivery services) and ``GET /pickup-points``.

Glue decides both (the reference page documents only the shapes):

- **Services** are a built-in list of Posti's parcel services with their public service codes,
  offered for both workflows. Each names the additional services it accepts.
- **Pickup points** are a small built-in list of Finnish pickup points (Posti lockers, post
  offices and store points) in the documented shape. Filters: ``postalCode`` (nearest postal
  codes first), ``postOffice``, ``streetAddress``, ``search`` (any text field), ``type``
  (``STORE``, or ``!STORE`` for everything else), ``serviceCode`` (only services with the
  ``PICKUP_POINT`` tag have points), ``country`` and ``size`` (default 10). A real carrier
  backend can replace the list behind the same endpoint; the answer is a plain array, as clients
  expect.
"""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from core.errors import ValidationFailed
from web.api import v3
from web.api.openapi import Param, operation, query_params
from web.auth import api_principal

WORKFLOWS = ("DROPSHIPPING", "WAREHOUSE")


class AdditionalService(BaseModel):
    code: str
    description: dict[str, str]
    specifiers: list[str] = []


class DeliveryService(BaseModel):
    id: str
    provider: str
    deliveryOperator: str
    description: dict[str, str]
    additionalServices: list[AdditionalService]
    tags: list[str]


class PickupPoint(BaseModel):
    externalId: str
    type: str
    serviceProvider: str
    name: str
    streetAddress: str
    postalCode: str
    postOffice: str
    country: str
    latitude: float  # coordinates, not money: float is right here
    longitude: float
    estimation: str | None = None


_COD = {"code": "3101", "description": {"fi": "Postiennakko", "en": "Cash on delivery"},
        "specifiers": ["amount", "reference"]}
_FRAGILE = {"code": "3104", "description": {"fi": "Särkyvä", "en": "Fragile"}, "specifiers": []}
_INSURANCE = {"code": "3376", "description": {"fi": "Lisävakuutus", "en": "Extra insurance"},
              "specifiers": ["amount"]}


def _service(code: str, fi: str, en: str, tags: list[str], extras: list[dict]) -> dict:
    return {"id": code, "provider": "Posti", "deliveryOperator": "Posti",
            "description": {"fi": fi, "en": en}, "additionalServices": extras, "tags": tags}


SERVICES: list[dict] = [
    _service("2103", "Postipaketti", "Postal Parcel", ["PICKUP_POINT"],
             [_COD, _FRAGILE, _INSURANCE]),
    _service("2104", "Kotipaketti", "Home Parcel", [], [_COD, _FRAGILE, _INSURANCE]),
    _service("2102", "Express-paketti", "Express Parcel", [], [_COD, _FRAGILE]),
    _service("2461", "Pikkupaketti", "Small Parcel", ["PICKUP_POINT"], []),
    _service("2711", "Parcel Connect", "Parcel Connect", ["PICKUP_POINT"], []),
    _service("2017", "EMS", "EMS", [], [_INSURANCE]),
]
_PICKUP_SERVICES = {s["id"] for s in SERVICES if "PICKUP_POINT" in s["tags"]}


def _point(ext: str, type_: str, name: str, street: str, postal: str, office: str,
           lat: str, lon: str) -> dict:
    return {"externalId": ext, "type": type_, "serviceProvider": "Posti", "name": name,
            "streetAddress": street, "postalCode": postal, "postOffice": office,
            "country": "FI", "latitude": float(lat), "longitude": float(lon),
            "estimation": None}


PICKUP_POINTS: list[dict] = [
    _point("100101", "POST_OFFICE", "Posti Helsinki Rautatientori", "Elielinaukio 2",
           "00100", "HELSINKI", "60.1710", "24.9410"),
    _point("100102", "PRIVATE_LOCKER", "Pakettiautomaatti K-Market Kamppi",
           "Urho Kekkosen katu 1", "00100", "HELSINKI", "60.1688", "24.9320"),
    _point("100501", "STORE", "Posti Palvelupiste R-kioski Sörnäinen",
           "Hämeentie 2", "00530", "HELSINKI", "60.1870", "24.9610"),
    _point("102101", "PRIVATE_LOCKER", "Pakettiautomaatti Prisma Espoontori",
           "Kamreerintie 3", "02770", "ESPOO", "60.2050", "24.6560"),
    _point("200101", "POST_OFFICE", "Posti Turku Humalistonkatu", "Humalistonkatu 1",
           "20100", "TURKU", "60.4520", "22.2620"),
    _point("330101", "STORE", "Posti Palvelupiste K-Citymarket Tampere",
           "Hatanpään valtatie 36", "33100", "TAMPERE", "61.4880", "23.7700"),
    _point("330102", "PRIVATE_LOCKER", "Pakettiautomaatti Tampere Keskustori",
           "Kauppakatu 4", "33210", "TAMPERE", "61.4980", "23.7600"),
    _point("401001", "STORE", "Posti Palvelupiste S-market Jyväskylä",
           "Kauppakatu 31", "40100", "JYVÄSKYLÄ", "62.2420", "25.7470"),
    _point("701001", "POST_OFFICE", "Posti Kuopio Tulliportinkatu", "Tulliportinkatu 27",
           "70100", "KUOPIO", "62.8920", "27.6780"),
    _point("901001", "PRIVATE_LOCKER", "Pakettiautomaatti Oulu Valkea",
           "Isokatu 24", "90100", "OULU", "65.0120", "25.4700"),
    _point("961001", "STORE", "Posti Palvelupiste K-Supermarket Rovaniemi",
           "Koskikatu 25", "96200", "ROVANIEMI", "66.5020", "25.7280"),
]


@v3.get("/services")
@operation("Delivery services", "reference", response=list[DeliveryService], errors=(401,),
           query=query_params(Param("workflow", "DROPSHIPPING or WAREHOUSE",
                                    {"type": "string", "enum": list(WORKFLOWS)})))
def services() -> ResponseReturnValue:
    api_principal()
    workflow = request.args.get("workflow")
    if workflow and workflow.upper() not in WORKFLOWS:
        raise ValidationFailed("unknown workflow",
                               [{"field": "workflow", "message": f"one of {WORKFLOWS}"}])
    return jsonify(SERVICES)  # every built-in service serves both workflows


def _postal_distance(point: dict, postal_code: str) -> int:
    digits = "".join(c for c in postal_code if c.isdigit())[:5].ljust(5, "0")
    return abs(int(point["postalCode"]) - int(digits))


def _matches(point: dict, args: dict[str, str]) -> bool:
    text = args.get("search", "").casefold()
    if text and not any(text in str(point[k]).casefold()
                        for k in ("name", "streetAddress", "postalCode", "postOffice")):
        return False
    if args.get("postOffice") and args["postOffice"].casefold() != point["postOffice"].casefold():
        return False
    if args.get("streetAddress") and (args["streetAddress"].casefold()
                                      not in point["streetAddress"].casefold()):
        return False
    if args.get("country") and args["country"].upper() != point["country"]:
        return False
    wanted = args.get("type", "")
    if wanted.startswith("!"):
        return point["type"] != wanted[1:].upper()
    return not wanted or point["type"] == wanted.upper()


@v3.get("/pickup-points")
@operation("Search pickup points", "reference", response=list[PickupPoint], errors=(401,),
           query=query_params("serviceCode", "postalCode", "postOffice", "streetAddress",
                              "country", Param("type", "STORE, or !STORE for the others"),
                              "capability", "countryFrom", "postalCodeFrom", "search",
                              Param("size", "How many (default 10).",
                                    {"type": "integer", "minimum": 1, "maximum": 100})))
def pickup_points() -> ResponseReturnValue:
    api_principal()
    args = {k: v for k, v in request.args.items() if v}
    try:
        size = int(args.get("size", 10))
    except ValueError:
        size = 0
    if not 1 <= size <= 100:
        raise ValidationFailed("size must be 1..100", [{"field": "size", "message": "1..100"}])
    if args.get("serviceCode") and args["serviceCode"] not in _PICKUP_SERVICES:
        return jsonify([])
    points = [p for p in PICKUP_POINTS if _matches(p, args)]
    postal = args.get("postalCode", "")
    if any(c.isdigit() for c in postal):
        points.sort(key=lambda p: _postal_distance(p, postal))
    return jsonify(points[:size])
