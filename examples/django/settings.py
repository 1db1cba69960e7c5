"""The least settings a Django project needs to serve the webhook view (no database)."""

from __future__ import annotations

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "set-DJANGO_SECRET_KEY-in-production")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
ROOT_URLCONF = "urls"
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES: dict[str, object] = {}
USE_TZ = True
# Django refuses bodies over this when they are read; the view refuses over 1 MiB first.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
