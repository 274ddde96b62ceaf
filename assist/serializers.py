"""API shapes of endpoints, prompt versions, samples and generation runs. Inputs refuse
fields they do not know; the endpoint's key is accepted and never sent back."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from assist.models import Endpoint, Generation, PromptKind, PromptVersion, Sample
from core.api import RefuseUnknownFields


class EndpointInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False)
    base_url = serializers.CharField(max_length=500, required=False)
    model = serializers.CharField(max_length=200, required=False)
    family = serializers.CharField(max_length=50, required=False, allow_blank=True)
    api_key = serializers.CharField(
        required=False, allow_blank=True, write_only=True, help_text='Write-only; "" clears it.'
    )
    api_key_env = serializers.CharField(max_length=100, required=False, allow_blank=True)
    timeout = serializers.FloatField(required=False)
    max_concurrency = serializers.IntegerField(required=False)
    rpm = serializers.IntegerField(required=False, allow_null=True)
    tpm = serializers.IntegerField(required=False, allow_null=True)
    supports_json_schema = serializers.BooleanField(required=False)
    supports_seed = serializers.BooleanField(required=False)
    supports_n = serializers.BooleanField(required=False)
    price_input = serializers.DecimalField(
        max_digits=10, decimal_places=4, required=False, allow_null=True
    )
    price_output = serializers.DecimalField(
        max_digits=10, decimal_places=4, required=False, allow_null=True
    )


def endpoint_data(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "project": endpoint.project_id,
        "name": endpoint.name,
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "family": endpoint.family,
        "has_api_key": bool(endpoint.api_key_encrypted),
        "api_key_env": endpoint.api_key_env,
        "timeout": endpoint.timeout,
        "max_concurrency": endpoint.max_concurrency,
        "rpm": endpoint.rpm,
        "tpm": endpoint.tpm,
        "supports_json_schema": endpoint.supports_json_schema,
        "supports_seed": endpoint.supports_seed,
        "supports_n": endpoint.supports_n,
        "price_input": None if endpoint.price_input is None else str(endpoint.price_input),
        "price_output": None if endpoint.price_output is None else str(endpoint.price_output),
        "created_at": endpoint.created_at,
    }


class PromptInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.ChoiceField(choices=PromptKind.choices, required=False)
    system = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    template = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    params = serializers.JSONField(required=False)
    parent = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]
    labels = serializers.JSONField(required=False)


def prompt_data(version: PromptVersion) -> dict[str, Any]:
    return {
        "id": version.pk,
        "project": version.project_id,
        "name": version.name,
        "kind": version.kind,
        "system": version.system,
        "template": version.template,
        "params": version.params,
        "parent": version.parent_id,
        "labels": version.labels,
        "created_at": version.created_at,
        "used_at": version.used_at,
    }


class SampleInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    size = serializers.JSONField(required=False)
    seed = serializers.JSONField(required=False)
    filter = serializers.JSONField(required=False)


def sample_data(sample: Sample) -> dict[str, Any]:
    return {
        "id": sample.pk,
        "project": sample.project_id,
        "name": sample.name,
        "size": sample.size,
        "seed": sample.seed,
        "filter": sample.filter,
        "items": sample.item_ids,
        "created_at": sample.created_at,
    }


class GenerationInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    endpoint = serializers.JSONField()
    prompt = serializers.JSONField()
    sample = serializers.JSONField(required=False, allow_null=True)
    filter = serializers.JSONField(required=False, allow_null=True)


def generation_data(row: Generation) -> dict[str, Any]:
    return {
        "id": row.pk,
        "item": row.item_id,
        "prompt": row.prompt_id,
        "output": row.output,
        "error": row.error,
        "applied": row.applied,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "latency_ms": row.latency_ms,
    }


class RatingInputSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    generation = serializers.IntegerField()
    verdict = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True)
