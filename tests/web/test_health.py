from web.app import create_app


def test_healthz_answers_when_the_database_does(db):
    client = create_app(database=db).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
