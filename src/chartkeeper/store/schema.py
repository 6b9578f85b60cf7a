"""The database schema, in SQLAlchemy Core.

Design (see docs/adr/0002-store-layout.md):

* ``resource`` has one row per (type, id): the current version's number, whether it is
  deleted, its patient compartment and the fingerprint of its content.
* ``resource_version`` is append-only and holds every version's content, tombstones
  included, so history is never lost. The current content is the version whose number
  equals ``resource.version_id``.
* One index table per search-parameter type. Rows are keyed by ``hash_identity`` (a stable
  hash of resource type + parameter code, as HAPI FHIR does), so a new search parameter
  needs no migration; they are rewritten in the same transaction as the resource.
* ``quarantine`` keeps every rejected input with its original bytes and the reason.

Server-managed ``meta.versionId`` / ``meta.lastUpdated`` live in columns and are put back
into the JSON on read: the stored document is exactly what was received, which makes the
"identical content → no new version" check a fingerprint comparison.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# SQLite's INTEGER PRIMARY KEY is its rowid; BigInteger keeps PostgreSQL roomy.
PrimaryKey = BigInteger().with_variant(Integer(), "sqlite")
JsonDocument = JSON().with_variant(JSONB(), "postgresql")
# Prefix-searched columns compare in code-point order on both databases (SQLite's BINARY is
# that already): string search turns "starts with" into an index range (migration 0003).
PrefixString = String(255).with_variant(String(255, collation="C"), "postgresql")
PrefixText = Text().with_variant(Text(collation="C"), "postgresql")

resource = Table(
    "resource",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False, comment="microseconds since 1970-01-01T00:00Z"),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("patient_id", String(64), nullable=True, comment="patient compartment (first Patient)"),
    Column("fingerprint", String(32), nullable=False),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
)
Index("ix_resource_patient", resource.c.patient_id)
Index("ix_resource_type_updated", resource.c.res_type, resource.c.last_updated)

resource_version = Table(
    "resource_version",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("resource_pk", BigInteger, nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False),
    Column("method", String(8), nullable=False, comment="create, update or delete"),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", JsonDocument, nullable=True, comment="null for a delete tombstone"),
    UniqueConstraint("resource_pk", "version_id", name="uq_version_resource_version"),
)
Index("ix_version_updated", resource_version.c.last_updated)
Index("ix_version_type_updated", resource_version.c.res_type, resource_version.c.last_updated)


#: Index rows of resource ``pk`` have keys ``pk << INDEX_KEY_BITS | n``: on SQLite the table is
#: clustered by that key, so a resource's rows are one contiguous range (appended on insert,
#: deleted by range on update) and no separate index on resource_pk is needed.
INDEX_KEY_BITS = 16


def _index_table(name: str, *columns: Column[Any]) -> Table:
    return Table(
        name,
        metadata,
        Column("row_key", PrimaryKey, primary_key=True, autoincrement=False, comment="resource_pk << 16 | n"),
        Column("resource_pk", BigInteger, nullable=False),
        Column("hash_identity", BigInteger, nullable=False),
        *columns,
    )


idx_string = _index_table(
    "idx_string",
    Column("value_normalized", PrefixString, nullable=False),
    Column("value_exact", Text, nullable=False),
)
Index("ix_idx_string_value", idx_string.c.hash_identity, idx_string.c.value_normalized)

idx_token = _index_table(
    "idx_token",
    Column("system", Text, nullable=True),
    Column("code", String(255), nullable=True),
    Column("display", Text, nullable=True),
)
Index("ix_idx_token_code", idx_token.c.hash_identity, idx_token.c.code)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("reference", Text, nullable=False),
)
Index("ix_idx_reference_target", idx_reference.c.hash_identity, idx_reference.c.target_id)
Index("ix_idx_reference_any", idx_reference.c.target_type, idx_reference.c.target_id)

idx_date = _index_table(
    "idx_date",
    Column("low", BigInteger, nullable=False),
    Column("high", BigInteger, nullable=False),
)
Index("ix_idx_date_low", idx_date.c.hash_identity, idx_date.c.low)

idx_quantity = _index_table(
    "idx_quantity",
    Column("system", Text, nullable=True),
    Column("code", String(255), nullable=True),
    Column("value", Float, nullable=False),
)
Index("ix_idx_quantity_value", idx_quantity.c.hash_identity, idx_quantity.c.value)

idx_number = _index_table("idx_number", Column("value", Float, nullable=False))
Index("ix_idx_number_value", idx_number.c.hash_identity, idx_number.c.value)

idx_uri = _index_table("idx_uri", Column("uri", PrefixText, nullable=False))
Index("ix_idx_uri_uri", idx_uri.c.hash_identity, idx_uri.c.uri)

INDEX_TABLES = (idx_string, idx_token, idx_reference, idx_date, idx_quantity, idx_number, idx_uri)

quarantine = Table(
    "quarantine",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False, comment="microseconds since epoch"),
    Column("source", Text, nullable=False, comment="file path (and line), or peer address"),
    Column("format", String(32), nullable=False, comment="fhir-json, fhir-ndjson, ..."),
    Column("reason", Text, nullable=False, comment="one line: what is wrong and where"),
    Column("issues", JSON, nullable=True, comment="OperationOutcome of every issue found"),
    Column("content", LargeBinary, nullable=False, comment="the original bytes, unchanged"),
    Column("content_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False, default="held", comment="held, retried, discarded"),
    Column("resolved_at", BigInteger, nullable=True),
    Column("resolution", Text, nullable=True),
)
Index("ix_quarantine_status", quarantine.c.status, quarantine.c.received_at)
Index("ix_quarantine_sha", quarantine.c.content_sha256)

# --- security (docs/adr/0006-security.md) ----------------------------------------------------
# People and API clients are not FHIR resources: they are the store's own accounts. Secrets are
# kept only as argon2 hashes; the token-signing key is generated at ``init`` and never printed.

app_user = Table(
    "app_user",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("display", Text, nullable=False),
    Column("roles", Text, nullable=False, comment="space-separated role names"),
    Column("password_hash", Text, nullable=False, comment="argon2id, PHC string"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", BigInteger, nullable=True, comment="microseconds since epoch"),
    Column("created_at", BigInteger, nullable=False),
    Column("changed_at", BigInteger, nullable=False),
    UniqueConstraint("username", name="uq_app_user_username"),
)

api_client = Table(
    "api_client",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("scopes", Text, nullable=False, comment="the most this client may be granted"),
    Column("secret_hash", Text, nullable=True, comment="argon2id of the client secret, if any"),
    Column("jwks", JSON, nullable=True, comment="public JWK set for SMART Backend Services"),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("changed_at", BigInteger, nullable=False),
    UniqueConstraint("name", name="uq_api_client_name"),
)

signing_key = Table(
    "signing_key",
    metadata,
    Column("kid", String(32), primary_key=True, comment="key id, in the JWT header"),
    Column("secret", LargeBinary, nullable=False, comment="HS256 key; never logged or printed"),
    Column("created_at", BigInteger, nullable=False),
)

used_jti = Table(
    "used_jti",
    metadata,
    Column("issuer", String(64), primary_key=True),
    Column("jti", String(255), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, comment="may be purged after this"),
)
Index("ix_used_jti_expires", used_jti.c.expires_at)

audit_chain = Table(
    "audit_chain",
    metadata,
    Column("seq", PrimaryKey, primary_key=True, autoincrement=True),
    Column("audit_id", String(64), nullable=False, comment="AuditEvent id"),
    Column("hash", String(64), nullable=False, comment="sha256(prev_hash + canonical JSON)"),
    Column("prev_hash", String(64), nullable=False),
    UniqueConstraint("audit_id", name="uq_audit_chain_audit_id"),
    UniqueConstraint("prev_hash", name="uq_audit_chain_prev_hash"),
)

# -- HL7 v2 intake (docs/adr/0008-hl7v2-intake.md) ------------------------------------------
hl7_message = Table(
    "hl7_message",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False, comment="microseconds since epoch"),
    Column("source", Text, nullable=False, comment="file path (and message number), or peer address"),
    Column("sender", Text, nullable=False, comment="MSH-3|MSH-4 as sent"),
    Column("control_id", String(199), nullable=False, comment="MSH-10"),
    Column("message_type", String(32), nullable=False, comment="MSH-9, e.g. ORU^R01"),
    Column("message_time", BigInteger, nullable=True, comment="MSH-7 in microseconds since epoch"),
    Column("status", String(16), nullable=False, comment="applied, duplicate or rejected"),
    Column("ack_code", String(2), nullable=False, comment="AA, AE or AR"),
    Column("quarantine_pk", BigInteger, nullable=True),
    Column("content", LargeBinary, nullable=False, comment="the message's original bytes"),
)
Index("ix_hl7_message_control", hl7_message.c.sender, hl7_message.c.control_id)

hl7_resource_time = Table(
    "hl7_resource_time",
    metadata,
    Column("res_type", String(64), primary_key=True),
    Column("res_id", String(64), primary_key=True),
    Column("message_time", BigInteger, nullable=False, comment="MSH-7 of the message last applied"),
)

hl7_merge_request = Table(
    "hl7_merge_request",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    Column("message_pk", BigInteger, nullable=False, comment="the A40 message in hl7_message"),
    Column("surviving_patient_id", String(64), nullable=False),
    Column("prior_patient_id", String(64), nullable=False),
    Column("prior_identifiers", JSON, nullable=True),
    Column(
        "status",
        String(16),
        nullable=False,
        default="recorded",
        comment="recorded (no MPI attached), merged, refused (AE sent) or failed (AE: retry)",
    ),
    Column("merge_pk", BigInteger, nullable=True, comment="the mpi_merge that performed it"),
    Column("outcome_at", BigInteger, nullable=True),
    Column("detail", Text, nullable=True, comment="why it was refused or failed (no PHI)"),
)


# -- master patient index (docs/mpi.md) ----------------------------------------------------------
# The trained matching model, every version kept (the latest is used): Splink's own JSON.
mpi_model = Table(
    "mpi_model",
    metadata,
    Column("version", PrimaryKey, primary_key=True, autoincrement=True),
    Column("design_version", Integer, nullable=False, comment="mpi.settings.DESIGN_VERSION trained"),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("record_count", Integer, nullable=False, comment="patients it was trained on"),
    Column("model", JSON, nullable=False, comment="Splink settings with trained m/u values"),
    Column("summary", JSON, nullable=False, comment="training facts: lambda, seconds, engine"),
)

# Thresholds and policy: append-only, the latest row is in force (who changed what, when).
mpi_config = Table(
    "mpi_config",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("link_threshold", Float, nullable=False),
    Column("review_threshold", Float, nullable=False),
    Column(
        "policy", String(16), nullable=False, comment="review: queue certain pairs too; merge: merge them"
    ),
    Column("note", Text, nullable=True),
)

# The index itself: one comparison record per current Patient, and its blocking keys.
mpi_record = Table(
    "mpi_record",
    metadata,
    Column("patient_id", String(64), primary_key=True),
    Column("features", JSON, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
mpi_key = Table(
    "mpi_key",
    metadata,
    Column("key_hash", BigInteger, primary_key=True, autoincrement=False, comment="hash of rule + values"),
    Column("patient_id", String(64), primary_key=True),
)
Index("ix_mpi_key_patient", mpi_key.c.patient_id)
mpi_term_frequency = Table(
    "mpi_term_frequency",
    metadata,
    Column("column_name", String(64), primary_key=True),
    Column("value", String(255), primary_key=True),
    Column("frequency", Float, nullable=False),
)

# Pairs found by a scan or the real-time hook, waiting for (or past) a decision. a_id < b_id.
mpi_candidate = Table(
    "mpi_candidate",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("a_id", String(64), nullable=False),
    Column("b_id", String(64), nullable=False),
    Column("probability", Float, nullable=False),
    Column("match_weight", Float, nullable=False),
    Column("decision", String(16), nullable=False, comment="link or review (the model's call)"),
    Column("evidence", JSON, nullable=False, comment="comparison level per field"),
    Column("model_version", Integer, nullable=False),
    Column("source", String(16), nullable=False, comment="scan or realtime"),
    Column("found_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, comment="open or decided"),
    UniqueConstraint("a_id", "b_id", name="uq_mpi_candidate_pair"),
)
Index("ix_mpi_candidate_status", mpi_candidate.c.status, mpi_candidate.c.probability)

# A person's decision on a pair: append-only, so none is ever lost; the latest one counts.
mpi_decision = Table(
    "mpi_decision",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("a_id", String(64), nullable=False),
    Column("b_id", String(64), nullable=False),
    Column("decision", String(16), nullable=False, comment="merge or distinct"),
    Column("decided_at", BigInteger, nullable=False),
    Column("decided_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("probability", Float, nullable=True, comment="the model's score when decided"),
    Column("merge_pk", BigInteger, nullable=True),
)
Index("ix_mpi_decision_pair", mpi_decision.c.a_id, mpi_decision.c.b_id)

# A merge and every resource version it wrote: enough to restore each one exactly.
mpi_merge = Table(
    "mpi_merge",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False, comment="the Patient replaced"),
    Column("target_id", String(64), nullable=False, comment="the surviving Patient"),
    Column("merged_at", BigInteger, nullable=False),
    Column("merged_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("state", String(16), nullable=False, comment="merged or unmerged"),
    Column("unmerged_at", BigInteger, nullable=True),
    Column("unmerged_by", Text, nullable=True),
    Column("unmerge_reason", Text, nullable=True),
)
Index("ix_mpi_merge_source", mpi_merge.c.source_id)
Index("ix_mpi_merge_target", mpi_merge.c.target_id)
mpi_merge_item = Table(
    "mpi_merge_item",
    metadata,
    Column("pk", PrimaryKey, primary_key=True, autoincrement=True),
    Column("merge_pk", BigInteger, nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version_before", Integer, nullable=False),
    Column("version_after", Integer, nullable=False),
)
Index("ix_mpi_merge_item_merge", mpi_merge_item.c.merge_pk)

# Patients written whose real-time match failed (the write stood): `mpi match --pending` retries
# them, `mpi scan` covers them too. One row per Patient; the latest failure kept.
mpi_pending = Table(
    "mpi_pending",
    metadata,
    Column("patient_id", String(64), primary_key=True),
    Column("noted_at", BigInteger, nullable=False),
    Column("source", String(32), nullable=False, comment="the write path: fhir-api, ingest, mllp"),
    Column("error", String(200), nullable=False, comment="the exception class only (no PHI)"),
)

# -- web workspace sessions (docs/web.md, docs/adr/0016-web-sessions-in-the-database.md) ---------
# The cookie carries a random token; only its SHA-256 is stored, so a copy of the database (or a
# backup) does not let anyone sign in as the people who were signed in.
web_session = Table(
    "web_session",
    metadata,
    Column("token_hash", String(64), primary_key=True, comment="sha256 of the cookie token, hex"),
    Column("username", String(64), nullable=True, comment="null: anonymous (the login form's CSRF)"),
    Column("csrf", String(64), nullable=False, comment="the session's CSRF secret"),
    Column("created_at", BigInteger, nullable=False, comment="µs since epoch; the absolute lifetime"),
    Column("last_seen", BigInteger, nullable=False, comment="µs since epoch; the idle timeout"),
    Column("notice", Text, nullable=True, comment="a one-time message for the next page"),
)
Index("ix_web_session_username", web_session.c.username)
Index("ix_web_session_last_seen", web_session.c.last_seen)
Index("ix_web_session_created_at", web_session.c.created_at)

# The charts a person opened last ("Recently viewed"): ids only, names come from the record.
web_recent_chart = Table(
    "web_recent_chart",
    metadata,
    Column("subject", String(128), primary_key=True, comment="the Caller's subject, e.g. user/rita"),
    Column("patient_id", String(64), primary_key=True),
    Column("viewed_at", BigInteger, nullable=False, comment="µs since epoch"),
)

# -- the coding work queues' stored review (docs/adr/0019-coding-stored-review.md) --------------
# One row per patient compartment: the fingerprint of the Patient, Encounter, Condition and Claim
# rows the review was computed from, and the review itself (the encounters with a blocking
# finding, serialised by ``chartkeeper.coding``). A row is used only while its fingerprint equals
# the one computed from ``resource`` at the time of use, so it cannot be stale; it is derived
# data (dropping the table loses nothing).
coding_review = Table(
    "coding_review",
    metadata,
    Column("patient_id", String(64), primary_key=True, comment="patient compartment; '' for none"),
    Column("fingerprint", String(160), nullable=False, comment="rules digest and compartment stamp"),
    Column("queued", Integer, nullable=False, comment="encounters with a blocking finding"),
    Column("unbilled", Integer, nullable=False, comment="finished encounters not ready to bill"),
    Column("ready", Integer, nullable=False, comment="finished encounters ready to bill"),
    Column("links", Text, nullable=True, comment="JSON: references not found in the compartment"),
    Column("reviews", Text, nullable=False, comment="JSON: the queued encounters, compact"),
    Column("refreshed_at", BigInteger, nullable=False, comment="µs since epoch"),
)
