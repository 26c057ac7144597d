"""What gunicorn serves: `gunicorn wsgi:app`. Also the target of `flask --app wsgi ...`."""
import click

from tracker import create_app
from tracker.core.config import ConfigError

try:
    app = create_app()
except ConfigError as problem:
    # `flask --app wsgi ...` prints "Error: <what to set>" and exits 1, without a traceback;
    # a gunicorn worker fails to boot with the same line and gunicorn stops.
    raise click.ClickException(str(problem)) from None
