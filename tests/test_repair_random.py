"""Random width perturbations: every repaired variant really runs, and repair is a fixed point."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnevolve.repair import repair
from repair_support import CIFAR, DIGITS, MNIST, run_for_real, src

# each template is consistent for some widths; {0}, {1}, ... are the widths the test perturbs
TEMPLATES = {
    "mlp": src("""
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Flatten(), nn.Linear({0}, 64), nn.ReLU(), nn.Linear({1}, 32),
                    nn.BatchNorm1d({2}), nn.ReLU(), nn.LayerNorm({3}), nn.Linear({4}, {5}))

            def forward(self, x):
                return self.net(x)
        """),
    "append": src("""
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                layers = []
                layers.append(nn.Conv2d({0}, 8, 3, padding=1))
                layers.append(nn.BatchNorm2d({1}))
                layers.append(nn.ReLU())
                layers.append(nn.MaxPool2d(2))
                layers.append(nn.Conv2d({2}, 16, 3, padding=1))
                layers.append(nn.GroupNorm(4, {3}))
                layers.append(nn.ReLU())
                layers.append(nn.Linear({4}, {5}))
                self.network = nn.Sequential(*layers)

            def forward(self, x):
                return self.network(x)
        """),
    "attributes": src("""
        import torch
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d({0}, 6, 3, padding=1)
                self.conv2 = nn.Conv2d({1}, 12, 3, padding=1)
                self.pool = nn.MaxPool2d(2)
                self.fc1 = nn.Linear({2}, 40)
                self.bn = nn.BatchNorm1d({3})
                self.fc2 = nn.Linear({4}, {5})

            def forward(self, x):
                x = self.pool(F.relu(self.conv1(x)))
                x = F.relu(self.conv2(x))
                x = self.fc1(x)
                x = F.relu(self.bn(x))
                return self.fc2(x)
        """),
    "view": src("""
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d({0}, 12, 3)
                self.norm = nn.BatchNorm2d({1})
                self.fc1 = nn.Linear({2}, 50)
                self.fc2 = nn.Linear({3}, {5})
                self.drop = nn.Dropout(0.{4})

            def forward(self, x):
                x = torch.relu(self.norm(self.conv(x)))
                x = x.view(x.size(0), {2})
                return self.fc2(self.drop(torch.relu(self.fc1(x))))
        """),
    "head_conv": src("""
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(nn.Conv2d({0}, 16, 3, padding=1), nn.BatchNorm2d({1}),
                                              nn.ReLU(), nn.Conv2d({2}, 8, 1), nn.ReLU())
                self.head = nn.Sequential(nn.Conv2d({3}, {5}, 1), nn.AdaptiveAvgPool2d(1),
                                          nn.Flatten(), nn.Dropout(0.{4}))

            def forward(self, x):
                return self.head(self.features(x))
        """),
}

widths = st.lists(st.integers(min_value=1, max_value=300), min_size=6, max_size=6)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(template=st.sampled_from(sorted(TEMPLATES)), values=widths,
       task=st.sampled_from([DIGITS, MNIST, CIFAR]))
def test_every_width_perturbation_is_repaired_into_a_model_that_runs(template, values, task):
    source = TEMPLATES[template].format(*values)
    result = repair(source, "Net", *task)
    # width-only damage is always repairable in these templates
    assert result.ok, result.reason
    run_for_real(result.source, "Net", *task)
    again = repair(result.source, "Net", *task)
    assert again.ok and again.source == result.source and again.fixes == ()


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.integers(min_value=1, max_value=64), min_size=4, max_size=4),
       pools=st.integers(min_value=0, max_value=5), task=st.sampled_from([DIGITS, MNIST]))
def test_ok_results_run_and_rejections_say_why(values, pools, task):
    # a conv stack with a random number of poolings: too many is rejected, never a crash
    source = src(f"""
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                layers = [nn.Conv2d({values[0]}, {values[1]}, 3, padding=1), nn.ReLU()]
                layers += [nn.MaxPool2d(2)] * {pools}
                layers += [nn.Conv2d({values[2]}, 8, 3), nn.Flatten(), nn.Linear({values[3]}, 10)]
                self.net = nn.Sequential(*layers)

            def forward(self, x):
                return self.net(x)
        """)
    result = repair(source, "Net", *task)
    side = task[0][1]
    for _ in range(pools):
        side //= 2
    assert result.ok == (side >= 3)  # the last 3×3 convolution needs a 3×3 map
    if result.ok:
        run_for_real(result.source, "Net", *task)
    else:
        assert "smaller than its" in result.reason
