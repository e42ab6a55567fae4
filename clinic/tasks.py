from celery import shared_task


@shared_task(ignore_result=False)
def ping(token: str) -> str:
    """Echo a token: the smallest proof that a real worker took a task from Redis and ran it."""
    return f"pong:{token}"
