from web.app import create_app


def test_healthz_answers_when_the_database_does(db):
    client = create_app(database=db).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_demo_images_are_svg_and_stable_per_name(db):
    client = create_app(database=db).test_client()
    first = client.get("/demo/images/JACKET-RED-M.svg")
    again = client.get("/demo/images/JACKET-RED-M.svg")
    other = client.get("/demo/images/MUG-BLUE.svg")
    assert first.status_code == 200
    assert first.mimetype == "image/svg+xml"
    assert first.data == again.data
    assert first.data != other.data
    assert b"<script" not in client.get("/demo/images/%3Cscript%3E.svg").data
