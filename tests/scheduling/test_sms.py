import json

from scheduling.sms import FileSmsBackend, get_sms_backend


def test_the_file_backend_writes_each_message_once_per_idempotency_key(settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    settings.SMS_BACKEND = "scheduling.sms.FileSmsBackend"
    backend = get_sms_backend()
    assert isinstance(backend, FileSmsBackend)
    first = backend.send(
        to="+16175550123", body="Reminder: Mon, Mar 15 9:00 AM EDT.", idempotency_key="reminder-7"
    )
    again = backend.send(
        to="+16175550123", body="Reminder: Mon, Mar 15 9:00 AM EDT.", idempotency_key="reminder-7"
    )
    backend.send(to="+16175550123", body="Another", idempotency_key="reminder-8")
    lines = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert [line["key"] for line in lines] == ["reminder-7", "reminder-8"]
    assert first == again and first.provider_id == "file:reminder-7"
