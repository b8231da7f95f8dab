"""Repair cases as before/after sources (LibCST codemod style), each repaired model run for real."""

from __future__ import annotations

import pytest

from nnevolve.repair import repair
from repair_support import CIFAR, DIGITS, MNIST, run_for_real, src

HEADER = "import torch\nimport torch.nn as nn\n\n\n"


def assert_repairs(before: str, after: str, class_name: str = "Net", task=DIGITS) -> tuple:
    result = repair(HEADER + src(before), class_name, *task)
    assert result.reason is None
    assert result.ok
    assert result.source == HEADER + src(after)
    run_for_real(result.source, class_name, *task)
    return result.fixes


def assert_rejects(before: str, reason_part: str, class_name: str = "Net", task=DIGITS) -> str:
    result = repair(HEADER + src(before), class_name, *task)
    assert not result.ok
    assert reason_part in result.reason
    return result.reason


def test_a_consistent_model_is_left_byte_identical():
    source = HEADER + src("""
        class Net(nn.Module):   # odd spacing and comments survive
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(),  nn.Linear(64, 32),
                                         nn.ReLU(), nn.Linear(32, 10))  # head

            def forward(self, x):
                return self.net(x)
        """)
    result = repair(source, "Net", *DIGITS)
    assert result.ok and result.source == source and result.fixes == ()


def test_linear_in_features_follow_the_previous_layer():
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Flatten(),
                    nn.Linear(64, 32),  # hidden
                    nn.ReLU(),
                    nn.Linear(64, 100),
                    nn.ReLU(),
                    nn.Linear(100, 10),
                )

            def forward(self, x):
                return self.net(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Flatten(),
                    nn.Linear(64, 32),  # hidden
                    nn.ReLU(),
                    nn.Linear(32, 100),
                    nn.ReLU(),
                    nn.Linear(100, 10),
                )

            def forward(self, x):
                return self.net(x)
        """)
    assert fixes == ("Linear in_features 64→32 at line 12",)


def test_conv_in_channels_and_batchnorm_follow_the_channels():
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                    nn.Conv2d(in_channels=8, out_channels=4, kernel_size=3, padding=1),
                    nn.BatchNorm2d(num_features=8), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(8), nn.Linear(4, 10))

            def forward(self, x):
                return self.features(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                    nn.Conv2d(in_channels=16, out_channels=4, kernel_size=3, padding=1),
                    nn.BatchNorm2d(num_features=4), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(4), nn.Linear(4, 10))

            def forward(self, x):
                return self.features(x)
        """)
    assert "Conv2d in_channels 3→1 at line 9" in fixes
    assert "BatchNorm2d num_features 8→16 at line 9" in fixes
    assert "Conv2d in_channels 8→16 at line 10" in fixes
    assert "LayerNorm normalized_shape 8→4 at line 12" in fixes


def test_width_expressions_become_the_needed_literal():
    assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self, p=4):
                super().__init__()
                self.conv = nn.Conv2d(1, 2 * p, 3)
                self.fc = nn.Linear(16 * 5 * 5, 10)

            def forward(self, x):
                x = torch.relu(self.conv(x))
                x = x.flatten(1)
                return self.fc(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self, p=4):
                super().__init__()
                self.conv = nn.Conv2d(1, 2 * p, 3)
                self.fc = nn.Linear(288, 10)

            def forward(self, x):
                x = torch.relu(self.conv(x))
                x = x.flatten(1)
                return self.fc(x)
        """)


def test_a_flattening_view_gets_the_width_of_the_tensor_it_flattens():
    fixes = assert_repairs(
        """
        class LeNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 6, 5)
                self.pool = nn.MaxPool2d(2, 2)
                self.conv2 = nn.Conv2d(6, 32, 5)  # widened by a mutation
                self.fc1 = nn.Linear(16 * 5 * 5, 120)
                self.fc2 = nn.Linear(120, 10)

            def forward(self, x):
                x = self.pool(torch.relu(self.conv1(x)))
                x = self.pool(torch.relu(self.conv2(x)))
                x = x.view(-1, 16 * 5 * 5)
                x = torch.relu(self.fc1(x))
                return self.fc2(x)
        """,
        """
        class LeNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 6, 5)
                self.pool = nn.MaxPool2d(2, 2)
                self.conv2 = nn.Conv2d(6, 32, 5)  # widened by a mutation
                self.fc1 = nn.Linear(512, 120)
                self.fc2 = nn.Linear(120, 10)

            def forward(self, x):
                x = self.pool(torch.relu(self.conv1(x)))
                x = self.pool(torch.relu(self.conv2(x)))
                x = x.view(-1, 512)
                x = torch.relu(self.fc1(x))
                return self.fc2(x)
        """, "LeNet", MNIST)
    assert "view width 16 * 5 * 5→512 at line 17" in fixes


def test_flatten_is_appended_before_a_linear_after_a_conv_stack():
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                layers = []
                layers.append(nn.Conv2d(1, 8, 3, padding=1))
                layers.append(nn.ReLU())
                # classifier
                layers.append(nn.Linear(8, 10))
                self.network = nn.Sequential(*layers)

            def forward(self, x):
                return self.network(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                layers = []
                layers.append(nn.Conv2d(1, 8, 3, padding=1))
                layers.append(nn.ReLU())
                # classifier
                layers.append(nn.Flatten())
                layers.append(nn.Linear(512, 10))
                self.network = nn.Sequential(*layers)

            def forward(self, x):
                return self.network(x)
        """)
    # line numbers refer to the repaired source: the Linear moved down to line 13
    assert fixes == ("Linear in_features 8→512 at line 13",
                     "insert `layers.append(nn.Flatten())` before the Linear at line 13")


def test_flatten_is_inserted_into_a_sequential_and_a_list_literal():
    assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                body = [nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Linear(4, 32)]
                self.body = nn.Sequential(*body)
                self.head = nn.Sequential(
                    nn.Conv2d(32, 2, 1),
                    nn.Linear(2, 10),
                )

            def forward(self, x):
                return self.body(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                body = [nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)]
                self.body = nn.Sequential(*body)
                self.head = nn.Sequential(
                    nn.Conv2d(32, 2, 1),
                    nn.Linear(2, 10),
                )

            def forward(self, x):
                return self.body(x)
        """)
    assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Conv2d(1, 4, 3),
                    nn.Linear(4, 10),
                )

            def forward(self, x):
                return self.net(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Conv2d(1, 4, 3),
                    nn.Flatten(),
                    nn.Linear(144, 10),
                )

            def forward(self, x):
                return self.net(x)
        """)


def test_attribute_style_gets_a_flatten_statement_in_forward():
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 6, 3)
                self.pool = nn.MaxPool2d(2)
                self.fc = nn.Linear(6, 10)

            def forward(self, x):
                x = self.pool(torch.relu(self.conv(x)))
                # logits
                x = self.fc(x)
                return x
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 6, 3)
                self.pool = nn.MaxPool2d(2)
                self.fc = nn.Linear(54, 10)

            def forward(self, x):
                x = self.pool(torch.relu(self.conv(x)))
                # logits
                x = torch.flatten(x, 1)
                x = self.fc(x)
                return x
        """)
    assert "insert `x = torch.flatten(x, 1)` before the Linear at line 10" in fixes


def test_output_layer_is_resized_and_the_layers_after_it_follow():
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 7), nn.BatchNorm1d(7),
                                         nn.Softmax(dim=1))

            def forward(self, x):
                return self.net(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.BatchNorm1d(10),
                                         nn.Softmax(dim=1))

            def forward(self, x):
                return self.net(x)
        """)
    assert fixes == ("Linear out_features 7→10 at line 8 (the output must have 10 classes)",
                     "BatchNorm1d num_features 7→10 at line 8")


def test_final_one_by_one_convolution_is_resized_to_the_classes():
    assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 3, 1),
                                         nn.AdaptiveAvgPool2d(1), nn.Flatten())

            def forward(self, x):
                return self.net(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Conv2d(8, 10, 1),
                                         nn.AdaptiveAvgPool2d(1), nn.Flatten())

            def forward(self, x):
                return self.net(x)
        """)


@pytest.mark.parametrize(("declared", "repaired"), [("16", "8"), ("width", "width // 2")])
def test_loop_sites_with_one_needed_width_get_one_edit(declared, repaired):
    template = """
        class Net(nn.Module):
            def __init__(self, width=16):
                super().__init__()
                layers = [nn.Conv2d(1, 8, 3, padding=1)]
                for _ in range(2):
                    layers += [nn.Conv2d(WIDTH, 8, 3, padding=1), nn.ReLU()]
                layers += [nn.Flatten(), nn.Linear(512, 10)]
                self.net = nn.Sequential(*layers)

            def forward(self, x):
                return self.net(x)
        """
    assert_repairs(template.replace("WIDTH", declared), template.replace("WIDTH", repaired))


@pytest.mark.parametrize(("declared", "reason"), [
    ("a", "Conv2d in_channels `a` at line 9 would need 1, 16 for the 2 layers it builds: "
          "it is a name, not rewritten"),
    ("3", "Conv2d at line 9 builds layers that need in_channels 1, 16; one literal cannot fit "
          "them all"),
])
def test_loop_sites_that_need_different_widths_are_rejected(declared, reason):
    assert reason == assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                widths = [3, 16, 32]
                convs = [nn.Conv2d(A, b, 3, padding=1) for a, b in zip(widths, widths[1:])]
                self.net = nn.Sequential(*convs, nn.Flatten(), nn.Linear(32 * 64, 10))

            def forward(self, x):
                return self.net(x)
        """.replace("A,", declared + ","), "")


def test_too_many_poolings_are_rejected_with_the_layer_and_size():
    assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2),
                    nn.MaxPool2d(2), nn.MaxPool2d(2), nn.MaxPool2d(2),
                    nn.Flatten(), nn.Linear(8, 10))

            def forward(self, x):
                return self.net(x)
        """, "MaxPool2d at line 10 receives 1×1 input, smaller than its 2×2 window")


def test_conv_after_a_flattened_layer_is_rejected():
    assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.Conv2d(32, 10, 1))

            def forward(self, x):
                return self.net(x)
        """, "Conv2d at line 8 receives 2-D input (2, 32); it needs 4-D")


def test_widths_the_constructor_refuses_are_repaired_too():
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.GroupNorm(4, 6),
                                         nn.Conv2d(6, 4, 3, groups=4), nn.BatchNorm2d(-1),
                                         nn.Flatten(), nn.Linear(64, 10))

            def forward(self, x):
                return self.net(x)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.GroupNorm(4, 8),
                                         nn.Conv2d(8, 4, 3, groups=4), nn.BatchNorm2d(4),
                                         nn.Flatten(), nn.Linear(64, 10))

            def forward(self, x):
                return self.net(x)
        """)
    assert "GroupNorm num_channels 6→8 at line 8" in fixes


def test_grouped_conv_fed_indivisible_channels_is_rejected():
    assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 6, 3), nn.Conv2d(4, 4, 3, groups=4),
                                         nn.Flatten(), nn.Linear(64, 10))

            def forward(self, x):
                return self.net(x)
        """, "Conv2d at line 8 receives 6 channels, which cannot be split into its 4 groups")


def test_a_refused_width_on_a_layer_that_never_runs_is_rejected():
    assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.unused = nn.GroupNorm(4, 6)
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                return self.fc(x.flatten(1))
        """, "building GroupNorm at line 8 raised ValueError: num_channels (6) must be divisible")


def test_an_output_width_no_layer_produces_is_rejected():
    assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten())

            def forward(self, x):
                return self.net(x)
        """, "the output has 128 classes, expected 10, and no layer can be resized")


def _net(init: str, forward: str) -> str:
    return HEADER + (
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        f"        {init}\n\n    def forward(self, x):\n        {forward}\n")


@pytest.mark.parametrize(("init", "forward", "reason"), [
    ("self.fc = nn.Linear(64, 10)", "return self.fc(x.flatten(1)), x",
     "forward returned a tuple, expected a tensor (2, 10)"),
    ("self.act = nn.ReLU()", "return self.act(torch.zeros(2, 10))",
     "the model has no trainable parameters"),
    ("self.fc = nn.Linear(64, 10)", "return self.fc(x.reshape(2, -1, 5))",
     "forward raised RuntimeError at line 11: shape '[2, -1, 5]' is invalid for input of size 128"),
    ("self.bn = nn.BatchNorm2d(64)", "return self.bn(x.flatten(1))",
     "BatchNorm2d at line 8 receives 2-D input (2, 64); it needs 4-D"),
    ("self.split = nn.Unflatten(1, (3, 3))", "return self.split(x.flatten(1))",
     "forward raised RuntimeError in Unflatten at line 8 (called from line 11): unflatten:"),
    ("self.fc = nn.Linear(64, 10)", "raise ValueError('nope')",
     "forward raised ValueError at line 11: nope"),
    ("self.fc = nn.Linear(64, undefined_width)", "return x",
     "building Net() raised NameError at line 8: name 'undefined_width' is not defined"),
    ("self.fc = nn.Linear(64, 10)", "return self.fc(x.flatten(1))[None]",
     "the output has shape (1, 2, 10), expected (2, 10)"),
    ("self.fc = nn.Linear(64, 10)", "return torch.cat([self.fc(x.flatten(1))] * 2)",
     "the output has 4 rows for a batch of 2"),
    ("self.fc = nn.Linear(64, 10)", "return self.fc(x.flatten(1))[:, :7]",
     "the output has 7 classes, expected 10, and no layer can be resized"),
    ("self.fc = nn.Linear(64, 10)", "return self.fc(x.flatten(1))[:, :0]",
     "the output (2, 0) is empty"),
])
def test_broken_variants_are_rejected_with_a_reason(init, forward, reason):
    result = repair(_net(init, forward), "Net", *DIGITS)
    assert not result.ok
    assert reason in result.reason


def test_source_level_failures_are_rejections():
    assert "syntax error at line 5" in repair(HEADER + "class Net(:\n", "Net", *DIGITS).reason
    assert "no nn.Module class named 'Missing'" in repair(HEADER, "Missing", *DIGITS).reason
    boom = repair(HEADER + "import sys\nsys.exit(3)\n", "Net", *DIGITS)
    assert boom.reason == "running the file raised SystemExit at line 6: 3"


def test_bad_task_shapes_raise_a_clear_value_error():
    with pytest.raises(ValueError, match="input_shape must be positive integers"):
        repair(HEADER, "Net", (1, 0, 8), 10)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        repair(HEADER, "Net", (1, 8, 8), 0)


def test_meta_unsupported_forward_falls_back_to_real_tensors():
    assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(100, 10)

            def forward(self, x):
                scale = float(x.abs().max().item()) + 1.0  # no meta implementation
                return self.fc(x.flatten(1) / scale)
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                scale = float(x.abs().max().item()) + 1.0  # no meta implementation
                return self.fc(x.flatten(1) / scale)
        """)


def test_the_same_model_is_repaired_for_each_dataset_shape():
    before = HEADER + src("""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                                         nn.Flatten(), nn.Linear(72, 10))

            def forward(self, x):
                return self.net(x)
        """)
    expected = {MNIST: ("nn.Conv2d(1, 8, 3)", "nn.Linear(1352, 10)"),
                CIFAR: ("nn.Conv2d(3, 8, 3)", "nn.Linear(1800, 10)")}
    for task, (conv, linear) in expected.items():
        result = repair(before, "Net", *task)
        assert result.ok, result.reason
        assert conv in result.source and linear in result.source
        run_for_real(result.source, "Net", *task)


@pytest.mark.parametrize(("container", "reason"), [
    ("nn.Sequential(OrderedDict([('conv', nn.Conv2d(1, 4, 3)), ('fc', nn.Linear(4, 10))]))",
     "cannot insert a Flatten before Linear at line 9: its list holds more than layers"),
    ("nn.ModuleList([nn.Conv2d(1, 4, 3), nn.Linear(4, 10)])",
     "cannot insert a Flatten before Linear at line 9: it is in a ModuleList"),
])
def test_a_flatten_is_not_forced_into_named_or_indexed_layer_lists(container, reason):
    source = ("from collections import OrderedDict\n" + HEADER + src(f"""
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = {container}

            def forward(self, x):
                for layer in self.net:
                    x = layer(x)
                return x
        """))
    result = repair(source, "Net", *DIGITS)
    assert not result.ok
    assert result.reason == reason


def test_a_flatten_that_cannot_be_placed_safely_is_a_rejection():
    assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3)
                self.drop = nn.Dropout(0.1)
                self.fc = nn.Linear(4, 10)

            def forward(self, x):
                return self.fc(self.drop(self.conv(x)))
        """, "cannot insert a Flatten before Linear at line 10: self.fc is not called on a plain "
             "variable in a simple statement")
    assert_rejects(
        """
        def head(width):
            return nn.Linear(width, 10)


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Conv2d(1, 4, 3), head(4))

            def forward(self, x):
                return self.net(x)
        """, "cannot insert a Flatten before Linear at line 6: it is not in a Sequential, a layer "
             "list or a self attribute")


def test_a_layer_after_non_ascii_text_on_its_line_is_found_and_fixed():
    # ast columns count UTF-8 bytes, libcst characters: the call is matched in characters
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.label, self.fc = "größe", nn.Linear(16, 10)

            def forward(self, x):
                return self.fc(x.flatten(1))
        """,
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.label, self.fc = "größe", nn.Linear(64, 10)

            def forward(self, x):
                return self.fc(x.flatten(1))
        """)
    assert fixes == ("Linear in_features 16→64 at line 8",)


def test_block_widths_keep_their_names_with_one_edit_for_every_instance():
    # Bottleneck is built twice (planes 4 and 8); its BatchNorm is declared 4x too wide for
    # both, and the classifier expects 16 * expansion channels where 8 * expansion arrive
    fixes = assert_repairs(
        """
        class Bottleneck(nn.Module):
            expansion = 4

            def __init__(self, in_planes, planes):
                super().__init__()
                self.conv = nn.Conv2d(in_planes, planes * self.expansion, 1)
                self.bn = nn.BatchNorm2d(planes * 16)

            def forward(self, x):
                return torch.relu(self.bn(self.conv(x)))


        class Net(nn.Module):
            def __init__(self, block=Bottleneck):
                super().__init__()
                self.features = nn.Sequential(block(1, 4), block(4 * block.expansion, 8))
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(16 * block.expansion, 10)

            def forward(self, x):
                return self.fc(torch.flatten(self.pool(self.features(x)), 1))
        """,
        """
        class Bottleneck(nn.Module):
            expansion = 4

            def __init__(self, in_planes, planes):
                super().__init__()
                self.conv = nn.Conv2d(in_planes, planes * self.expansion, 1)
                self.bn = nn.BatchNorm2d(planes * 4)

            def forward(self, x):
                return torch.relu(self.bn(self.conv(x)))


        class Net(nn.Module):
            def __init__(self, block=Bottleneck):
                super().__init__()
                self.features = nn.Sequential(block(1, 4), block(4 * block.expansion, 8))
                self.pool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(8 * block.expansion, 10)

            def forward(self, x):
                return self.fc(torch.flatten(self.pool(self.features(x)), 1))
        """)
    assert fixes == ("BatchNorm2d num_features planes * 16→planes * 4 at line 11",
                     "Linear in_features 16 * block.expansion→8 * block.expansion at line 22")


def test_a_width_that_is_a_name_is_not_rewritten_and_the_reason_says_so():
    reason = assert_rejects(
        """
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.num_classes = 10
                self.fc1 = nn.Linear(64, 32)
                self.fc2 = nn.Linear(self.num_classes, 10)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x.flatten(1))))
        """, "")
    assert reason == ("Linear in_features `self.num_classes` at line 10 would need 32: it is a "
                      "name, not rewritten")


def test_a_layer_used_twice_is_solved_from_the_width_it_was_declared_with():
    # the second call sees the layer already resized: only the first tells the declared width
    fixes = assert_repairs(
        """
        class Net(nn.Module):
            def __init__(self, h=8):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.norm = nn.LayerNorm(2 * h)
                self.fc2 = nn.Linear(32, 10)

            def forward(self, x):
                x = self.norm(self.fc1(x.flatten(1)))
                return self.fc2(self.norm(x))
        """,
        """
        class Net(nn.Module):
            def __init__(self, h=8):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.norm = nn.LayerNorm(4 * h)
                self.fc2 = nn.Linear(32, 10)

            def forward(self, x):
                x = self.norm(self.fc1(x.flatten(1)))
                return self.fc2(self.norm(x))
        """)
    assert fixes == ("LayerNorm normalized_shape 2 * h→4 * h at line 9",)


def test_a_network_that_builds_but_cannot_train_is_refused_with_the_reason():
    # forward runs; backward does not: the in-place += overwrites the ReLU output its
    # gradient needs (a block ending in a ReLU put where a norm layer's output was added to)
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 1, 3, padding=1)
                self.act = nn.ReLU()
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                out = self.act(self.conv(x))
                out += x
                return self.fc(out.flatten(1))
        """)
    result = repair(source, "Net", (1, 8, 8), 10)
    assert not result.ok
    assert result.reason == ("training would fail: an in-place operation (such as `+=`) "
                             "changes a tensor the backward pass needs (output 0 of Relu)")
    fine = repair(source.replace("out += x", "out = out + x"), "Net", (1, 8, 8), 10)
    assert fine.ok, fine.reason
