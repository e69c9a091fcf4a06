from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("preview/<slug:team_slug>/", views.preview, name="preview"),
    path("settings/<slug:team_slug>/", views.subscription_settings, name="settings"),
    path("channels/<slug:team_slug>/", views.channels, name="channels"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
