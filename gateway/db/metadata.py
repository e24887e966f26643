"""All tables of all features, gathered for Alembic and for test set-up."""

from gateway.agencies import tables as _agencies  # noqa: F401  (registers the tables)
from gateway.audit import tables as _audit  # noqa: F401
from gateway.auth import tables as _auth  # noqa: F401
from gateway.consents import notices_tables as _notices  # noqa: F401
from gateway.consents import tables as _consents  # noqa: F401
from gateway.db.base import Base
from gateway.dpo import tables as _dpo  # noqa: F401
from gateway.emergency import tables as _emergency  # noqa: F401
from gateway.messages import tables as _messages  # noqa: F401
from gateway.meta import tables as _meta  # noqa: F401
from gateway.monitoring import tables as _monitoring  # noqa: F401
from gateway.rectifications import tables as _rectifications  # noqa: F401
from gateway.release import tables as _releases  # noqa: F401
from gateway.subjects import tables as _subjects  # noqa: F401
from gateway.web import tables as _web  # noqa: F401

metadata = Base.metadata
