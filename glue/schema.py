"""Every table Glue has: import each model module here so migrations and tests see them all."""

from connectors import models as _connector_models  # noqa: F401
from core import document_settings as _document_models  # noqa: F401
from core import models as _core_models  # noqa: F401
from core.db import Base
from web.ui import import_models as _ui_import_models  # noqa: F401
from web.ui import models as _ui_models  # noqa: F401
from webhooks import models as _webhook_models  # noqa: F401

metadata = Base.metadata
