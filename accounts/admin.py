from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Provider, User


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "ukprn", "instid")
    search_fields = ("name", "ukprn", "instid")


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    list_display = ("username", "email", "role", "provider", "is_active")
    list_filter = ("role", "provider", "is_active")
    fieldsets = (*UserAdmin.fieldsets, ("Portal role", {"fields": ("role", "provider")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Portal role", {"fields": ("role", "provider")}))
