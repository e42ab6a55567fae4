from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("patient/", views.portal, name="portal"),
    path("review/", views.review_queue, name="review_queue"),
]
