"""Settings from the environment (TONGBAN_*), with defaults for the embedded mode."""
from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"


def _key_file(instance: Path, name: str) -> str:
    """A key generated once into the instance folder and reused, so yesterday's data reads today.
    Only the service's own user may read it (file 0600, a folder we create 0700)."""
    path = instance / name
    if not path.exists():
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = instance / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
        try:  # never replaces a key another process wrote meanwhile: both then read the same one
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if path.stat().st_mode & 0o077:  # a key an earlier release left readable by others
        with contextlib.suppress(PermissionError):  # not ours: provisioned by an operator as they chose
            path.chmod(0o600)
    return path.read_text().strip()


_NUMBERS = ("transit_same_city_days", "transit_same_province_days", "transit_other_province_days",
            "transit_km_per_day", "dispatch_days", "receipt_days", "supplement_notice_days",
            "result_dispatch_days", "delivery_attempts", "close_after_days", "follow_up_days", "sweep_minutes",
            "session_idle_minutes", "session_max_hours", "scan_ahead_minutes", "scan_behind_days",
            "evaluation_rate_per_minute", "sign_in_rate_per_minute", "sign_in_lock_after",
            "federation_max_tries", "federation_retry_seconds", "federation_retry_max_seconds",
            "federation_timeout_seconds", "carrier_timeout_seconds", "carrier_max_tries", "carrier_retry_seconds",
            "carrier_silent_days", "carrier_poll_minutes", "file_retention_days", "file_max_mb",
            "file_max_pages", "file_max_pixels")
_MESSAGE_TEXTS = ("sms_transport", "sms_url", "sms_key_id", "sms_secret", "sms_sign_name", "sms_template_codes",
                  "sms_body_template", "smtp_host", "smtp_user", "smtp_password", "smtp_from")
_MESSAGE_NUMBERS = ("sms_per_phone_per_hour", "smtp_port", "message_max_tries", "message_retry_seconds",
                    "message_retry_max_seconds", "message_timeout_seconds")
_PLATFORM_TEXTS = ("platform_cases_url", "platform_cross_province_url", "platform_ratings_url", "platform_secret",
                   "platform_cases_secret", "platform_cross_province_secret", "platform_ratings_secret")


@dataclass
class Settings:
    instance_path: Path = DEFAULT_INSTANCE
    database_url: str = ""
    broker_url: str = ""
    public_url: str = "http://127.0.0.1:5000"
    secret_key: str = ""
    data_key: str = ""
    chain_key: str = ""  # keys the event chains (HMAC); kept apart from the database
    # S10 prefixes this installation allocates from, inclusive (e.g. EA…CN)
    s10_first_prefix: str = "EA"
    s10_last_prefix: str = "EZ"
    token_hours: int = 12
    # a signed-in page session ends after this long without a request, and in any case after a shift
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    delivery_link_days: int = 14
    supplement_due_days: int = 15
    track_rate_per_minute: int = 60
    # a public tracking answer is kept this long in each process (app.answer_cache); 0: never kept
    track_cache_seconds: float = 30
    # per client address, shared by every worker (the rate limits' storage): evaluations; sign-ins by page or API
    evaluation_rate_per_minute: int = 10
    sign_in_rate_per_minute: int = 20
    # consecutive wrong passwords that lock an account until an admin unlocks it
    sign_in_lock_after: int = 10
    # where the per-client counts live: a Redis URL (redis://…); empty: the broker if it is Redis, else memory
    rate_limit_storage: str = ""
    rate_limit_prefix: str = "tongban"  # installations sharing one Redis keep their counts apart
    font_path: str = ""
    # the TrueType font stored on the thermal printers (ZPL ^A@), e.g. E:SIMSUN.TTF
    zpl_font: str = "E:SIMSUN.TTF"
    # service standards: working days a leg takes at least, by where its two ends lie,
    # and the distance a packet covers in a working day (longer legs take longer)
    transit_same_city_days: float = 0.5
    transit_same_province_days: float = 1.0
    transit_other_province_days: float = 2.0
    transit_km_per_day: float = 400.0
    # stage limits in working days (the decision's limit is the matter's promised days)
    dispatch_days: int = 1
    receipt_days: int = 0
    supplement_notice_days: int = 5   # 行政许可法 art. 32
    result_dispatch_days: int = 1
    delivery_attempts: int = 3        # failed home deliveries before a result goes back to the window
    close_after_days: int = 30        # a delivered case is archived this many days after delivery
    follow_up_days: int = 10          # working days to follow up a bad rating (整改、回访)
    file_retention_days: int = 180    # a case's scans are removed this many days after it closed or ended early
    sweep_minutes: int = 60           # how often celery beat runs the sweep
    # a scan dated further ahead of the server's clock, or further back, is refused (implausible_time):
    # a scanner's clock runs a little fast; one that was offline a while sends its day late, not a year late
    scan_ahead_minutes: int = 10
    scan_behind_days: int = 365
    # the federation outbox: tries before a message is dead-lettered, the first retry's delay (doubled
    # after each failure, capped), how long one POST may take
    federation_max_tries: int = 8
    federation_retry_seconds: int = 30
    federation_retry_max_seconds: int = 6 * 3600
    federation_timeout_seconds: int = 10
    # messages to people (docs/messages.md): the SMS transport (log | gateway | aliyun) and its account,
    # SMTP for email (no host: the log), and the outbox's tries, backoff and per-phone limit
    sms_transport: str = "log"
    sms_url: str = ""
    sms_key_id: str = ""        # the gateway's account, or the cloud's AccessKeyId
    sms_secret: str = ""        # the HMAC key, or the cloud's AccessKeySecret
    sms_sign_name: str = "通办寄递"  # 短信签名, as registered with the SMS service
    sms_template_codes: str = ""  # "collected=SMS_1,accepted=SMS_2,*=SMS_0"
    sms_body_template: str = ""  # the generic gateway's JSON body ($phone, $text …); empty: its default
    sms_per_phone_per_hour: int = 5  # SMS to one phone in any hour; 0: no limit
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "通办寄递 <noreply@localhost>"
    smtp_starttls: bool = False
    message_max_tries: int = 6
    message_retry_seconds: int = 60
    message_retry_max_seconds: int = 6 * 3600
    message_timeout_seconds: int = 10
    # the platforms above this installation (empty URL or secret: that report is not made); each
    # platform's secret falls back to the shared one
    platform_cases_url: str = ""          # 省一体化平台: 办件信息
    platform_cross_province_url: str = ""  # 全国一体化平台“跨省通办”专区: 办件信息 of cross-province cases
    platform_ratings_url: str = ""        # 好差评系统: ratings and their follow-ups
    platform_secret: str = ""
    platform_cases_secret: str = ""
    platform_cross_province_secret: str = ""
    platform_ratings_secret: str = ""
    # federation: this installation's node id ("" = a single installation, no peers), the division
    # prefixes it owns ("" = it claims none explicitly: a peer's prefix wins), and its two private keys
    # (Ed25519 signs what it sends, X25519 opens personal data sealed to it), base64url of 32 bytes
    node: str = ""
    node_prefixes: tuple[str, ...] = ()
    node_signing_key: str = ""
    node_sealing_key: str = ""
    # postage (邮资): the tariff file by zone and weight, and who pays (mailing.postage); "" = the shipped
    # config/data/postage.yaml
    postage_tariff_file: str = ""
    # carriers (mailing.carriers): the installation's (`own`: our couriers; `ems`: the 政务专递 API below),
    # and offices under a contract of their own (TONGBAN_CARRIER_BY_OFFICE="H140105=ems,H140902=own")
    carrier: str = "own"
    carrier_by_office: dict = field(default_factory=dict)
    carrier_timeout_seconds: int = 10
    carrier_max_tries: int = 8          # a booking, pick-up or cancellation tried this often, then dead
    carrier_retry_seconds: int = 60     # the first retry's delay, doubled after each failure (capped at 6 h)
    carrier_silent_days: int = 2        # working days without a carrier event before a packet is an exception
    carrier_poll_minutes: int = 30      # how often packets in the carrier's hands are fetched, should pushes stop
    ems_url: str = ""                   # the open platform's gateway
    ems_sender_no: str = ""             # 协议客户号
    ems_key: str = ""                   # signs our calls and the platform's pushes (dataDigest)
    ems_product: str = "GOV"            # bizProductNo of 政务专递 in the contract
    # the carrier takes our S10 numbers (a range it allotted us) as its waybill numbers: one number, one
    # barcode on the label; off: the carrier assigns its own, printed on the label once booked
    carrier_own_numbers: bool = True
    # uploaded files (tracking.files, docs/files.md): where they are kept, sealed (`local`: files_path, by
    # default the instance folder's files/; `s3`: a bucket of S3-compatible storage), and what is accepted
    file_storage: str = "local"
    files_path: Path | None = None
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"
    file_max_mb: int = 20
    file_max_pages: int = 100
    file_max_pixels: int = 40_000_000

    @classmethod
    def from_env(cls, env: dict | None = None, instance_path: Path | None = None,
                 overrides: dict | None = None) -> "Settings":
        """Settings from TONGBAN_* variables; `overrides` (field names) win over the environment."""
        env = os.environ if env is None else env
        overrides = dict(overrides or {})
        instance = Path(overrides.pop("instance_path", None) or env.get("TONGBAN_INSTANCE_PATH")
                        or instance_path or DEFAULT_INSTANCE)
        s = cls(instance_path=instance)
        s.database_url = env.get("TONGBAN_DATABASE_URL") or f"sqlite:///{instance / 'tongban.db'}"
        s.broker_url = env.get("TONGBAN_BROKER_URL", "")
        s.public_url = env.get("TONGBAN_PUBLIC_URL") or s.public_url
        s.secret_key = env.get("TONGBAN_SECRET_KEY", "")
        s.data_key = env.get("TONGBAN_DATA_KEY", "")
        s.chain_key = env.get("TONGBAN_CHAIN_KEY", "")
        s.s10_first_prefix = env.get("TONGBAN_S10_FIRST_PREFIX", s.s10_first_prefix)
        s.s10_last_prefix = env.get("TONGBAN_S10_LAST_PREFIX", s.s10_last_prefix)
        s.token_hours = int(env.get("TONGBAN_TOKEN_HOURS", s.token_hours))
        s.delivery_link_days = int(env.get("TONGBAN_DELIVERY_LINK_DAYS", s.delivery_link_days))
        s.track_rate_per_minute = int(env.get("TONGBAN_TRACK_RATE_PER_MINUTE", s.track_rate_per_minute))
        s.track_cache_seconds = float(env.get("TONGBAN_TRACK_CACHE_SECONDS", s.track_cache_seconds))
        s.font_path = env.get("TONGBAN_FONT_PATH", "")
        s.rate_limit_storage = env.get("TONGBAN_RATE_LIMIT_STORAGE", "")
        s.rate_limit_prefix = env.get("TONGBAN_RATE_LIMIT_PREFIX") or s.rate_limit_prefix
        s.zpl_font = env.get("TONGBAN_ZPL_FONT") or s.zpl_font
        s.node = env.get("TONGBAN_NODE", "").strip()
        s.node_prefixes = tuple(p.strip() for p in env.get("TONGBAN_NODE_PREFIXES", "").split(",") if p.strip())
        s.node_signing_key = env.get("TONGBAN_NODE_SIGNING_KEY", "")
        s.node_sealing_key = env.get("TONGBAN_NODE_SEALING_KEY", "")
        s.postage_tariff_file = env.get("TONGBAN_POSTAGE_TARIFF_FILE", "")
        s.carrier = env.get("TONGBAN_CARRIER", "").strip() or s.carrier
        s.carrier_by_office = dict(pair.strip().split("=", 1) for pair in
                                   env.get("TONGBAN_CARRIER_BY_OFFICE", "").split(",") if "=" in pair)
        s.carrier_own_numbers = env.get("TONGBAN_CARRIER_OWN_NUMBERS", "1").strip().lower() not in ("0", "false", "no")
        for name in ("ems_url", "ems_sender_no", "ems_key", "ems_product"):
            setattr(s, name, env.get(f"TONGBAN_{name.upper()}", getattr(s, name)))
        s.file_storage = env.get("TONGBAN_FILE_STORAGE", "").strip().lower() or s.file_storage
        s.files_path = Path(env.get("TONGBAN_FILES_PATH") or instance / "files")
        for name in ("s3_endpoint_url", "s3_bucket", "s3_access_key", "s3_secret_key", "s3_region"):
            setattr(s, name, env.get(f"TONGBAN_{name.upper()}") or getattr(s, name))
        for name in _MESSAGE_TEXTS:
            setattr(s, name, env.get(f"TONGBAN_{name.upper()}", getattr(s, name)))
        for name in _MESSAGE_NUMBERS:
            if env.get(f"TONGBAN_{name.upper()}"):
                setattr(s, name, int(env[f"TONGBAN_{name.upper()}"]))
        s.smtp_starttls = env.get("TONGBAN_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes")
        for name in _PLATFORM_TEXTS:
            setattr(s, name, env.get(f"TONGBAN_{name.upper()}", ""))
        for name in _NUMBERS:
            raw = env.get(f"TONGBAN_{name.upper()}")
            if raw:
                setattr(s, name, type(getattr(s, name))(raw))
        for key, value in overrides.items():
            if not hasattr(s, key):
                raise KeyError(f"unknown setting {key}")
            setattr(s, key, value)
        s.public_url = s.public_url.rstrip("/")
        s.secret_key = s.secret_key or _key_file(instance, "secret_key")
        s.data_key = s.data_key or _key_file(instance, "data_key")
        s.chain_key = s.chain_key or _key_file(instance, "chain_key")
        if s.node:  # token_urlsafe(32) is base64url of 32 random bytes: a valid Ed25519 / X25519 private key
            s.node_signing_key = s.node_signing_key or _key_file(instance, "node_signing_key")
            s.node_sealing_key = s.node_sealing_key or _key_file(instance, "node_sealing_key")
        return s
