from django.urls import path

from bench.naive import views

urlpatterns = [
    path("naive/messages", views.NaiveMessagesView.as_view()),
    path("noop", views.NoopView.as_view()),
]
