"""Flask extensions, created unbound here and bound to the app in create_app."""

from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every table."""


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
# Alembic through Flask-Migrate: the schema is created and upgraded only by migrations/.
migrate = Migrate()
# Storage from RATELIMIT_STORAGE_URI (memory by default, per process; see docs/SECURITY.md).
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Compresses pages and fragments (Brotli or gzip, as the browser accepts); static files are
# served precompressed by WhiteNoise (static_files.py).
compress = Compress()
