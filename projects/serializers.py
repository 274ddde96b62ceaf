from __future__ import annotations

from typing import Any

from rest_framework import serializers

from projects.models import Guideline, Membership, Project, Role, TaskType


class ProjectSerializer(serializers.ModelSerializer[Project]):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "task_type",
            "overlap",
            "language",
            "lease_minutes",
            "max_leases",
            "gold_rate",
            "skip_reasons",
            "flag_categories",
            "anchoring_share",
            "role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "role", "created_at", "updated_at"]

    def get_role(self, project: Project) -> str | None:
        roles: dict[int, str] = self.context.get("roles", {})
        return roles.get(project.pk)


class ProjectInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False)
    slug = serializers.SlugField(max_length=80, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    task_type = serializers.ChoiceField(choices=TaskType.choices, required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=10, required=False)
    language = serializers.CharField(max_length=12, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=1440, required=False)
    max_leases = serializers.IntegerField(min_value=1, max_value=50, required=False)
    gold_rate = serializers.FloatField(min_value=0, max_value=1, required=False)


class UserInputSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_staff = serializers.BooleanField(required=False, default=False)
    can_create_projects = serializers.BooleanField(required=False, default=False)


class MemberSerializer(serializers.ModelSerializer[Membership]):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberInputSerializer(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class GuidelineSerializer(serializers.ModelSerializer[Guideline]):
    author = serializers.CharField(source="created_by.username", default=None)

    class Meta:
        model = Guideline
        fields = ["version", "body", "html", "author", "created_at"]


class GuidelineInputSerializer(serializers.Serializer[Any]):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
