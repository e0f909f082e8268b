"""Liaison screens to create and edit collections (routed from portal/web_urls.py). Thin views."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from accounts.decorators import liaison_required
from core.forms import form_add_service_errors

from . import collection_services
from .forms import CollectionForm
from .models import Collection


@liaison_required
def collection_create(request):
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = collection_services.collection_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Collection {collection.reference} created.")
            return redirect("liaison_home")
    return render(request, "liaison/collection_form.html", {"form": form, "title": "New collection"})


@liaison_required
def collection_edit(request, reference: str):
    collection = get_object_or_404(Collection, reference=reference)
    title = f"Edit {collection.reference} {collection.name}"  # before the form changes the instance
    form = CollectionForm(request.POST or None, instance=collection)
    if request.method == "POST" and form.is_valid():
        try:
            collection_services.collection_update(actor=request.user, collection=collection, **form.cleaned_data)
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"Collection {collection.reference} saved.")
            return redirect("liaison_home")
    return render(request, "liaison/collection_form.html", {"form": form, "title": title, "collection": collection})
