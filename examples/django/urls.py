"""The webhook route."""

from __future__ import annotations

import views
from django.urls import path

urlpatterns = [path("hook", views.hook)]
