"""What gunicorn serves: `gunicorn wsgi:app`. Also the target of `flask --app wsgi ...`."""
from tracker import create_app

app = create_app()
