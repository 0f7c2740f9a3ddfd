"""A user's script, type-checked in CI (`mypy tests/typing`): the README's tour and the chapter's idioms.

It is not a test module (pytest does not collect it); mypy must find no error in it, and
`reveal_type`-free assignments below pin the types users get.
"""

from __future__ import annotations

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.optim import SGD

x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
y: mg.Tensor = (x**2).sum()
y.backward()
grad: mg.Tensor | None = x.grad


def loss(params: tuple[mg.Tensor, mg.Tensor], xb: mg.Tensor, yb: mg.Tensor) -> mg.Tensor:
    w, b = params
    return ((xb @ w + b - yb) ** 2).mean()


params = (mg.randn(3, 1, generator=mg.Generator(42)), mg.zeros(1))
xb, yb = mg.randn(16, 3), mg.randn(16, 1)
value, (dw, db) = mg.value_and_grad(loss)(params, xb, yb)
ok: bool = mg.gradcheck(lambda a: (a.sigmoid() * a).sum(), [mg.randn(4)])

# operators with numbers on either side, methods, and top-level functions
z: mg.Tensor = 2 * x - 1 / (x + 0.5) ** 2
z = -z.relu().clamp(0, 1).exp().log().reshape(3, 1).T.mT.squeeze()
m: mg.Tensor = mg.where(z > 0, z, mg.zeros_like(z)).max(dim=0, keepdim=True).values
best: mg.Tensor = z.max(axis=0)  # numpy's spelling: the values
i: mg.Tensor = z.argmax()
n: float = float(z.mean()) + z.std().item()
c: mg.Tensor = mg.cat([z, z]).view(-1)[0:2] & (z < 1)

# a model, its loss and an optimizer, as in the chapter
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
opt = SGD(model.parameters(), lr=0.1)
out: mg.Tensor = model(xb)
F.mse_loss(out, yb).backward()
opt.step()
opt.zero_grad()
with mg.no_grad():
    preds = model(xb).sigmoid()
