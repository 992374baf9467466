"""Celery, wired the way Flask documents it; tasks take ids and call use cases, nothing more."""
from __future__ import annotations

from datetime import date

from celery import Celery, Task, shared_task
from flask import Flask

from config.database import new_session
from tracking.commands.notifications import send_due as send_messages_due
from tracking.commands.sweep import sweep
from tracking.federation.outbox import send_due, urllib_transport
from tracking.messages import transports as message_transports


def celery_init_app(app: Flask) -> Celery:
    settings = app.config["TONGBAN"]

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    broker = settings.broker_url
    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.conf.update(
        broker_url=broker or "memory://",
        result_backend="cache+memory://" if not broker else None,
        task_always_eager=not broker,  # the embedded default runs tasks in-process
        task_ignore_result=True,
        timezone="Asia/Shanghai",
        beat_schedule={"send-notifications": {"task": "app.tasks.send_notifications", "schedule": 60.0},
                       "sweep": {"task": "app.tasks.sweep_deadlines", "schedule": settings.sweep_minutes * 60.0},
                       "send-federation": {"task": "app.tasks.send_federation", "schedule": 30.0},
                       "sync-directories": {"task": "app.tasks.sync_directories", "schedule": 86400.0},
                       "send-carriers": {"task": "app.tasks.send_carriers", "schedule": 60.0},
                       "poll-carriers": {"task": "app.tasks.poll_carriers",
                                         "schedule": settings.carrier_poll_minutes * 60.0}},
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def run_notifications(worker_id: str | None = None, limit: int = 500) -> dict[str, int]:
    """Sends the due messages to people, each claim committed before it is sent (used by the task and by
    `flask notifications send`): several workers never send one message twice."""
    import os
    import socket

    from flask import current_app
    tongban = current_app.extensions["tongban"]
    env = tongban["env"]
    worker = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    with new_session(tongban["engine"]) as session:
        done = send_messages_due(session, env, message_transports(env.settings), worker, session.commit, limit=limit)
        session.commit()
    return done


@shared_task(name="app.tasks.send_notifications")
def send_notifications() -> int:
    return run_notifications()["sent"]


def run_sweep(as_of: date | None = None) -> dict[str, int]:
    """The sweep, then the notices it queued (used by the task and by `flask sweep`)."""
    from flask import current_app
    tongban = current_app.extensions["tongban"]
    with new_session(tongban["engine"]) as session:
        done = sweep(session, tongban["env"].settings, as_of, session.commit, tongban["env"])
        session.commit()
    done["sent"] = run_notifications(limit=100_000)["sent"]
    return done


@shared_task(name="app.tasks.sweep_deadlines")
def sweep_deadlines(as_of: str | None = None) -> dict[str, int]:
    return run_sweep(date.fromisoformat(as_of) if as_of else None)


def run_outbox(worker_id: str | None = None) -> dict[str, int]:
    """Sends the federation outbox's due messages (used by the task and by `flask federation send`)."""
    import os
    import socket

    from flask import current_app
    tongban = current_app.extensions["tongban"]
    settings = tongban["env"].settings
    worker = worker_id or f"{socket.gethostname()}:{os.getpid()}"
    with new_session(tongban["engine"]) as session:
        return send_due(session, settings, urllib_transport(settings.federation_timeout_seconds), worker, None,
                        session.commit)


@shared_task(name="app.tasks.send_federation")
def send_federation() -> dict[str, int]:
    return run_outbox()


def run_directory_sync() -> dict[str, dict]:
    """Loads every active peer's office directory (used by the daily task and `flask federation directory sync`)."""
    from flask import current_app

    from app.federation_links import directory_fetcher
    from tracking.federation.directory import sync
    tongban = current_app.extensions["tongban"]
    settings = tongban["env"].settings
    with new_session(tongban["engine"]) as session:
        done = sync(session, settings, directory_fetcher(settings), session.commit)
        session.commit()
    return done


@shared_task(name="app.tasks.sync_directories")
def sync_directories() -> dict[str, dict]:
    return run_directory_sync()


def _worker_id() -> str:
    import os
    import socket
    return f"{socket.gethostname()}:{os.getpid()}"


def run_carrier_requests() -> dict[str, int]:
    """Sends the carrier outbox's due bookings, pick-ups and cancellations (task and `flask carriers send`)."""
    from flask import current_app

    from tracking.commands.carriers import send_carrier_requests
    tongban = current_app.extensions["tongban"]
    with new_session(tongban["engine"]) as session:
        done = send_carrier_requests(session, tongban["env"], _worker_id(), session.commit)
        session.commit()
    return done


@shared_task(name="app.tasks.send_carriers")
def send_carriers() -> dict[str, int]:
    return run_carrier_requests()


def run_carrier_poll() -> dict[str, int]:
    """Fetches the events of packets in carriers' hands (task and `flask carriers poll`)."""
    from flask import current_app

    from tracking.commands.carriers import poll_carriers as poll
    tongban = current_app.extensions["tongban"]
    with new_session(tongban["engine"]) as session:
        done = poll(session, tongban["env"], session.commit)
        session.commit()
    return done


@shared_task(name="app.tasks.poll_carriers")
def poll_carriers() -> dict[str, int]:
    return run_carrier_poll()


def after_change() -> None:
    """What a committed change sets going: its notifications, and the carrier bookings it queued (only
    where a carrier with a network is configured: the embedded default has none to send)."""
    from flask import current_app
    send_notifications.delay()
    settings = current_app.config["TONGBAN"]
    if settings.carrier != "own" or any(name != "own" for name in settings.carrier_by_office.values()):
        send_carriers.delay()
