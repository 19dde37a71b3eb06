"""Read template.yaml, so test infrastructure is built from the same definitions as the stack."""

from pathlib import Path
from typing import Any, cast

import yaml

ROOT = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(cast(yaml.MappingNode, node), deep=True)}


_CfnLoader.add_multi_constructor("!", _tag)


def template() -> dict[str, Any]:
    loaded = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return cast(dict[str, Any], loaded)


def table_definition(table_name: str) -> dict[str, Any]:
    """create_table arguments for the template's Table resource."""
    props = template()["Resources"]["Table"]["Properties"]
    return {
        "TableName": table_name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"],
        "StreamSpecification": {"StreamEnabled": True, **props["StreamSpecification"]},
    }


def stream_filter_types() -> set[str]:
    """The item types the PublishFunction's FilterCriteria lets through."""
    import json

    events = template()["Resources"]["PublishFunction"]["Properties"]["Events"]
    pattern = json.loads(events["TableChanges"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"])
    return set(pattern["dynamodb"]["NewImage"]["type"]["S"])
