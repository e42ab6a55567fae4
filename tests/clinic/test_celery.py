import pytest

from clinic.tasks import ping


@pytest.mark.slow
def test_a_task_makes_the_round_trip_through_redis_and_a_real_worker(celery_worker):
    result = ping.delay("round-trip")
    assert result.get(timeout=30) == "pong:round-trip"
    assert "clinic.tasks.ping" in celery_worker.log()


def test_worker_runs_with_the_reliability_settings(settings):
    from clinic.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
