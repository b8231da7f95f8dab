# Input: (N, 1, 8, 8) images (scikit-learn digits); output: (N, 10) class logits.
"""A VGG-style configuration stack: a module-level ``cfg`` table turned into layers by a loop.

The class takes the configuration's name, so the model is chosen by an expression:
``nnevolve evolve samples/vgg_cfg.py --model "VGG('VGG-A')"``, or by the zero-argument
wrapper ``--model VGG11``. Evolution edits the entries of the chosen table (widths and
``'M'`` pool markers) and the layer lines of the loop; the other tables are never read.
"""

import torch.nn as nn

cfg = {
    'VGG-A': [8, 'M', 16, 'M', 32, 32],
    'VGG-B': [8, 8, 'M', 16, 16, 'M', 32, 32],
    'VGG-D': [8, 8, 'M', 16, 16, 16, 'M', 32, 32, 32],
}


class VGG(nn.Module):
    def __init__(self, vgg_name, num_classes=10):
        super(VGG, self).__init__()
        self.features = self._make_layers(cfg[vgg_name])
        self.classifier = nn.Linear(32, num_classes)

    def forward(self, x):
        out = self.features(x)
        out = out.view(out.size(0), -1)
        out = self.classifier(out)
        return out

    def _make_layers(self, cfg):
        layers = []
        in_channels = 1
        for x in cfg:
            if x == 'M':
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(in_channels, x, kernel_size=3, padding=1),
                           nn.BatchNorm2d(x),
                           nn.ReLU(inplace=True)]
                in_channels = x
        layers += [nn.AdaptiveAvgPool2d(1)]
        return nn.Sequential(*layers)


class VGG11(VGG):
    def __init__(self):
        super().__init__('VGG-A')
