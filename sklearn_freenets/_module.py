# SPDX-License-Identifier: BSD-3-Clause
"""The FreeNet as a torch module.

``k`` neurons form a DAG: an encoder maps the input to every neuron, neuron ``i``
also reads every earlier neuron ``j < i`` through the edges of a boolean adjacency
``G`` (strictly lower triangular), and a decoder maps all activations to the
outputs::

    z_i = enc_i(x) + sum_{j<i} G[i, j] W[i, j] h_j        h_i = act(z_i)
    y   = dec(h) (+ skip(x))

The recurrence runs in :func:`sklearn_freenets._kernel.recurrence` (compiled CPU
kernels with a hand-written backward, or plain torch on other devices). On the CPU
a graph sparse enough for it to be faster is computed over its kept edges only:
the forward pass runs encoder, recurrence and decoder together with neuron-major
activations (:func:`sklearn_freenets._kernel.sparse_network`, one autograd node
in training; up to 60 % of the edges in training at k <= 100, see
:func:`sklearn_freenets._kernel.network_pays_off`), and otherwise, below 8 % of
the edges, the row-major sparse kernels run. The empty graph is ``act(A)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import nn

from sklearn_freenets._graph import strictly_lower, strictly_lower_part
from sklearn_freenets._kernel import (
    _ACT_CODES,
    ACTIVATIONS,
    GraphLevels,
    SparseGraph,
    _numba_fits,
    _numba_forward,
    _sparse_network_forward,
    apply_activation,
    dense_recurrence_backward,
    network_pays_off,
    recurrence,
    recurrence_by_levels,
    recurrence_inference,
    sparse_network,
    sparse_network_backward,
)

__all__ = ["FreeNetModule", "initial_adjacency", "n_parameters"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Where the sparse kernels do not apply (another device, backend="torch", a graph
# too dense), graphs of at most this many topological levels are computed level by
# level with matrix products (GraphLevels) rather than neuron by neuron: the empty
# graph has one level; the dense graph has k. From 3 levels on, the compiled dense
# kernel is faster (measured at batch 200, k=16..100).
_MAX_LEVELS = 2
INITS = ("glorot", "torch")
# Smallest pre-activation of every neuron on the training rows after active_start.
ACTIVE_MARGIN = 0.1


class _GraphCache:
    """What the forward pass derives from the adjacency, computed once per graph.

    ``key`` identifies the adjacency buffer (the tensor object, kept alive by
    ``adjacency`` so its id cannot be reused, and its in-place version counter,
    which ``copy_``, ``load_state_dict`` and ``set_adjacency`` all bump) and the
    weight dtype and device.
    """

    __slots__ = ("key", "adjacency", "mask", "n_edges", "_graph", "_levels")

    def __init__(self, key: tuple, adjacency: torch.Tensor, dtype, device) -> None:
        self.key = key
        self.adjacency = adjacency
        # Float copy of the strictly lower triangle, multiplied into W (and its
        # gradient) inside the recurrence: cheaper than ``W * G`` with a bool G.
        self.mask = strictly_lower_part(adjacency).to(dtype=dtype, device=device)
        self.n_edges = int(torch.count_nonzero(self.mask))
        self._graph: SparseGraph | None = None
        self._levels: GraphLevels | None = None

    def levels(self) -> GraphLevels:
        """The neurons grouped by topological depth (lazy)."""
        if self._levels is None:
            self._levels = GraphLevels(self.adjacency, device=self.mask.device)
        return self._levels

    def graph(self) -> SparseGraph:
        """The kept edges per neuron, for the sparse inference kernel (lazy)."""
        if self._graph is None:
            self._graph = SparseGraph(self.adjacency)
        return self._graph


def initial_adjacency(k: int, graph: str | ArrayLike = "dense") -> np.ndarray:
    """Return the starting adjacency of ``k`` neurons as a bool ndarray.

    Parameters
    ----------
    k : int
        Number of neurons.
    graph : {"dense", "empty"} or array-like of shape (k, k)
        ``"dense"``: every edge ``j -> i`` with ``j < i`` (contains every layered
        feed-forward net); ``"empty"``: no edges (a one-hidden-layer MLP); an
        array: its strictly lower triangle, which must be all that is set.

    Returns
    -------
    adjacency : ndarray of shape (k, k), dtype=bool
        ``adjacency[i, j]`` is the edge ``j -> i``.
    """
    lower = strictly_lower(k)
    if isinstance(graph, str):
        if graph == "dense":
            return lower
        if graph == "empty":
            return np.zeros((k, k), dtype=bool)
        raise ValueError(
            f"initial_graph must be 'dense', 'empty' or a (k, k) array, got {graph!r}"
        )
    G = np.asarray(graph)
    if G.shape != (k, k):
        raise ValueError(f"initial_graph must have shape ({k}, {k}), got {G.shape}")
    G = G.astype(bool)
    if (G & ~lower).any():
        raise ValueError(
            "initial_graph must be strictly lower triangular (edges j -> i need j < i)"
        )
    return G


class FreeNetModule(nn.Module):
    """A FreeNet of ``k`` neurons wired by a strictly lower-triangular DAG.

    Parameters
    ----------
    n_features : int
        Input dimension.
    k : int
        Number of neurons.
    n_outputs : int
        Output dimension (classes for a classifier, targets for a regressor).
    activation : {"relu", "squared_relu", "tanh"}, default="relu"
        Neuron nonlinearity; ``squared_relu`` is ``max(0, z) ** 2``.
    skip : bool, default=False
        Add a linear map (no bias) from the input straight to the output.
    initial_graph : {"dense", "empty"} or array-like of shape (k, k), default="dense"
        Starting adjacency, see :func:`initial_adjacency`.
    dtype : {"float32", "float64"} or torch.dtype, default="float32"
        Parameter dtype.
    backend : {"auto", "numba", "torch"}, default="auto"
        How the recurrence is computed, see
        :func:`~sklearn_freenets._kernel.recurrence`. Whatever the backend, the
        empty graph is ``act(A)``. With the compiled kernels, a graph sparse
        enough for it to pay off is computed over its kept edges only; otherwise
        a graph of at most ``_MAX_LEVELS`` topological levels is computed level
        by level with matrix products
        (:func:`~sklearn_freenets._kernel.recurrence_by_levels`).
    init : {"glorot", "torch"}, default="glorot"
        Initialisation of the encoder, decoder and skip map: ``"glorot"`` draws
        weights and biases uniformly in ``+-sqrt(6 / (fan_in + fan_out))``, as
        scikit-learn's MLP does; ``"torch"`` keeps PyTorch's ``Linear`` default.
    random_state : int or None, default=None
        Seed of the initial weights, drawn from a generator of their own (torch's
        global random state is left alone); None: from torch's global generator.
        See :meth:`reset_parameters`.

    Attributes
    ----------
    encoder : torch.nn.Linear
        Input to neurons (weights ``(k, n_features)``, one bias per neuron).
    weight : torch.nn.Parameter of shape (k, k)
        Recurrent weights ``W``; entries outside the graph are masked, not deleted.
    adjacency : torch.Tensor of shape (k, k), dtype=torch.bool
        The graph ``G`` (a buffer, saved with the state dict). What the forward
        pass derives from it (a float mask, the kept edges per neuron) is cached
        and rebuilt when the buffer changes through :meth:`set_adjacency`,
        ``load_state_dict``, an in-place tensor operation or a new tensor;
        edits through ``.data`` or a NumPy view are not seen.
    decoder : torch.nn.Linear
        Neurons to outputs.
    skip : torch.nn.Linear or None
        Input to outputs, when ``skip=True``.
    """

    adjacency: torch.Tensor
    skip: nn.Linear | None
    # Let the compiled kernels compute only the kept edges (training and inference)
    # when the graph is sparse enough for that to be faster.
    _sparse_kernels: bool = True

    def __init__(
        self,
        n_features: int,
        k: int,
        n_outputs: int,
        activation: str = "relu",
        skip: bool = False,
        initial_graph: str | ArrayLike = "dense",
        dtype: str | torch.dtype = "float32",
        backend: str = "auto",
        init: str = "glorot",
        random_state: int | None = None,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {ACTIVATIONS}, got {activation!r}"
            )
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        torch_dtype = _DTYPES[dtype] if isinstance(dtype, str) else dtype
        self.n_features = n_features
        self.k = k
        self.n_outputs = n_outputs
        self.activation = activation
        self.backend = backend
        self.encoder = _linear(n_features, k, True, torch_dtype)
        self.weight = nn.Parameter(torch.empty(k, k, dtype=torch_dtype))
        adjacency = torch.as_tensor(initial_adjacency(k, initial_graph))
        self.register_buffer("adjacency", adjacency)
        self.decoder = _linear(k, n_outputs, True, torch_dtype)
        self.skip = _linear(n_features, n_outputs, False, torch_dtype) if skip else None
        self._graph_cache: _GraphCache | None = None
        self.reset_parameters(init, random_state)

    @torch.no_grad()
    def reset_parameters(
        self, init: str = "glorot", random_state: int | None = None
    ) -> None:
        """Draw every weight afresh (see ``init``), seeded by ``random_state``.

        With an int ``random_state`` the draws come from a generator of their
        own, so torch's global random state is neither read nor advanced; None
        draws from the global generator. The draws are, in order: PyTorch's
        ``Linear`` default for the encoder, decoder and skip map (weights then
        bias), then with ``init="glorot"`` the same maps again in scikit-learn's
        MLP scheme, then the recurrent weights (:meth:`reset_recurrent_weights`):
        a seed gives the weights that ``torch.manual_seed(seed)`` followed by
        the ``nn.Linear`` constructors gave in earlier versions.

        Parameters
        ----------
        init : {"glorot", "torch"}, default="glorot"
            Initialisation of the encoder, decoder and skip map, as in the
            constructor.
        random_state : int or None, default=None
            Seed of the draws; None draws from torch's global generator.
        """
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        gen = (
            None
            if random_state is None
            else torch.Generator().manual_seed(int(random_state))
        )
        layers = [layer for layer in (self.encoder, self.decoder, self.skip) if layer]
        for layer in layers:
            _torch_linear_init(layer, gen)
        if init == "glorot":
            for layer in layers:
                _glorot_linear_init(layer, gen)
        self.reset_recurrent_weights(gen)

    @torch.no_grad()
    def reset_recurrent_weights(self, generator: torch.Generator | None = None) -> None:
        """Draw ``W`` so each neuron's input keeps the scale of the encoder's.

        Row ``i`` is uniform in ``+-1/sqrt(n_in)``, ``n_in`` being neuron ``i``'s
        number of incoming edges (PyTorch's default for a Linear of that fan-in).

        Parameters
        ----------
        generator : torch.Generator or None, default=None
            Source of the draws; None: torch's global generator.
        """
        fan_in = self.adjacency.sum(dim=1).clamp(min=1).to(self.weight.dtype)
        bound = (1.0 / fan_in.sqrt()).unsqueeze(1)
        self.weight.uniform_(-1.0, 1.0, generator=generator).mul_(bound)

    def masked_weight(self) -> torch.Tensor:
        """Return ``W * G``: the recurrent weights of the edges in the graph.

        Returns
        -------
        weight : torch.Tensor of shape (k, k)
            ``W`` with the entries outside the graph set to 0.
        """
        return self.weight * self.adjacency

    def _graph_state(self) -> _GraphCache:
        """Return the cached mask and sparse graph, rebuilt when the graph changed."""
        adjacency = self.adjacency
        weight = self.weight
        try:
            version = adjacency._version
        except RuntimeError:  # inference-mode tensors have no version counter
            version = None
        key = (id(adjacency), version, weight.dtype, weight.device)
        cache = self.__dict__.get("_graph_cache")
        if (
            cache is None
            or version is None
            or cache.key != key
            or cache.adjacency is not adjacency
        ):
            cache = _GraphCache(key, adjacency, weight.dtype, weight.device)
            self.__dict__["_graph_cache"] = cache
        return cache

    def _hidden(
        self,
        X: torch.Tensor,
        return_preact: bool,
        preact_cap: torch.Tensor | None = None,
    ):
        A = self.encoder(X)
        cache = self._graph_state()
        weight = self.weight
        path, graph = self._recurrence_path(cache, A, preact_cap is not None)
        if path == "levels":
            return recurrence_by_levels(
                A,
                weight,
                self.activation,
                cache.levels(),
                mask=cache.mask,
                return_preact=return_preact,
                cap=preact_cap,
            )
        if torch.is_grad_enabled() and (A.requires_grad or weight.requires_grad):
            return recurrence(
                A,
                weight,
                self.activation,
                mask=cache.mask,
                graph=graph,
                return_preact=return_preact,
                backend=self.backend,
            )
        return recurrence_inference(
            A,
            weight,
            self.activation,
            mask=cache.mask,
            graph=graph,
            return_preact=return_preact,
            backend=self.backend,
        )

    def _recurrence_path(
        self, cache: _GraphCache, A: torch.Tensor, capped: bool = False
    ) -> tuple[str, SparseGraph | None]:
        """How :meth:`_hidden` computes the recurrence of ``A`` on the graph.

        Returns the path and the sparse graph handed to the kernels (None
        where the sparse kernels cannot run). The path is ``"levels"`` (matrix
        products level by level: graphs of one level, capped pre-activations,
        and graphs of at most ``_MAX_LEVELS`` levels that the row-major sparse
        kernels do not take), ``"sparse"`` (those kernels), ``"dense"`` (the
        dense compiled kernels) or ``"torch"`` (``backend="torch"``, or tensors
        that the compiled kernels do not take).
        """
        levels = cache.levels()
        numba = self.backend != "torch" and _numba_fits(A)
        graph = cache.graph() if self._sparse_kernels and numba else None
        sparse = graph is not None and graph.pays_off(self.weight.dtype)
        if (
            levels.n_levels <= 1
            or capped
            or (levels.n_levels <= _MAX_LEVELS and not sparse)
        ):
            return "levels", graph
        if sparse:
            return "sparse", graph
        return ("dense" if numba else "torch"), graph

    def forward(
        self, X: torch.Tensor, preact_cap: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the outputs for ``X``.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            Inputs, of the module's dtype and device.
        preact_cap : torch.Tensor of shape (k,) or None, default=None
            Clips each neuron's pre-activation from above before its activation
            (computed level by level, see
            :func:`~sklearn_freenets._kernel.recurrence_by_levels`): the
            estimators pass the largest pre-activation seen on the training rows,
            so that a squared-ReLU network stays bounded on inputs unlike its
            training data.

        Returns
        -------
        out : torch.Tensor of shape (n_samples, n_outputs)
            The decoder's output (plus the skip map's, with ``skip=True``).
        """
        if preact_cap is None:
            cache = self._graph_state()
            out: torch.Tensor | None
            if cache.n_edges == 0:
                out = self._empty_forward(X)
            else:
                out = self._sparse_forward(X, cache)
            if out is not None:
                return out if self.skip is None else out + self.skip(X)
        return self._output(self._hidden(X, False, preact_cap), X)

    def _empty_forward(self, X: torch.Tensor) -> torch.Tensor:
        """The empty graph's output, ``decoder(act(encoder(X)))``.

        The same operations as the general path, as three functional calls
        (the FCNN's forward pass is most of a small fit's time, and each
        submodule call costs a few microseconds); forward hooks registered on
        the encoder and decoder do not run here.
        """
        encoder = cast(nn.Linear, self._modules["encoder"])
        decoder = cast(nn.Linear, self._modules["decoder"])
        A = nn.functional.linear(X, encoder.weight, encoder.bias)
        H = apply_activation(A, self.activation)
        return nn.functional.linear(H, decoder.weight, decoder.bias)

    def _sparse_forward(
        self, X: torch.Tensor, cache: _GraphCache
    ) -> torch.Tensor | None:
        """The decoder's output through :func:`sparse_network`, or None.

        On a graph with edges that is sparse enough for it to beat the dense
        kernels (:func:`~sklearn_freenets._kernel.network_pays_off`: in
        training up to 60 % of the edges at k <= 100), encoder, recurrence and
        decoder run with neuron-major activations, in training as one autograd
        node. The encoder's and decoder's weights are read directly, so forward
        hooks registered on those two submodules do not run here.
        """
        graph = self._neuron_major_graph(X, cache, torch.is_grad_enabled())
        if graph is None:
            return None
        encoder, decoder = self.encoder, self.decoder
        weight = self.weight
        return sparse_network(
            X,
            encoder.weight,
            encoder.bias,
            weight,
            decoder.weight,
            decoder.bias,
            graph,
            self.activation,
        )

    def _neuron_major_graph(
        self, X: torch.Tensor, cache: _GraphCache, training: bool
    ) -> SparseGraph | None:
        """The graph when the neuron-major path computes ``X``'s pass, or None.

        It does for a graph with edges sparse enough for it to beat the dense
        kernels (:func:`~sklearn_freenets._kernel.network_pays_off`, for a
        training step or for prediction), on tensors that the compiled kernels
        take, with the sparse kernels on and both biases present.
        """
        if not self._sparse_kernels or self.backend == "torch":
            return None
        graph = cache.graph()
        if not network_pays_off(graph, training):
            return None
        if not _numba_fits(X) or X.dtype != self.weight.dtype:
            return None
        if self.encoder.bias is None or self.decoder.bias is None:
            return None
        return graph

    def step_forward(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], None]] | None:
        """A training step's forward pass and its backward, without autograd.

        The same operations as autograd's, so the same gradients bit for bit,
        without autograd's per-operation bookkeeping, which is most of a small
        network's step. Does not apply (returns None, and the caller then uses
        autograd) to graphs of two topological levels (computed by matrix
        products), ``backend="torch"``, devices and dtypes that the compiled
        kernels do not take, and a module with hooks, which autograd would
        have to run.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            Inputs, of the module's dtype and device.

        Returns
        -------
        step : tuple of (torch.Tensor, callable) or None
            ``(out, backward)``: ``out`` is :meth:`forward`'s output for ``X``
            (recording nothing), and ``backward(dout)``, given the gradient of
            the loss with respect to ``out``, sets the ``.grad`` of every
            parameter that requires one, as ``out.backward(dout)`` after
            ``zero_grad(set_to_none=True)`` would (``W``'s stays None when the
            path does not read it). None where this does not apply.
        """
        if X.device.type != "cpu" or self._has_hooks():
            return None
        cache = self._graph_state()
        with torch.no_grad():
            if cache.n_edges == 0:
                return self._empty_step(X)
            step = self._sparse_step(X, cache)
            return step if step is not None else self._dense_step(X, cache)

    def _has_hooks(self) -> bool:
        """Whether a hook that autograd or ``forward`` would run is registered."""
        if (
            nn.modules.module._global_forward_hooks
            or nn.modules.module._global_forward_pre_hooks
            or nn.modules.module._global_backward_hooks
            or nn.modules.module._global_backward_pre_hooks
        ):
            return True
        # the module and its Linear layers (which have no submodules)
        for module in (self, *self._modules.values()):
            if module is None:
                continue
            if (
                module._forward_hooks
                or module._forward_pre_hooks
                or module._backward_hooks
                or module._backward_pre_hooks
            ):
                return True
            for p in module._parameters.values():
                if p is not None and (
                    p._backward_hooks or getattr(p, "_post_accumulate_grad_hooks", None)
                ):
                    return True
        return False

    def _empty_step(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], None]]:
        """:meth:`step_forward` for the empty graph (:meth:`_empty_forward`)."""
        encoder = cast(nn.Linear, self._modules["encoder"])
        A = torch.addmm(encoder.bias, X, encoder.weight.t())
        act = self.activation
        if act == "squared_relu":
            R = torch.relu(A)
            H = R.square()
        else:
            H = apply_activation(A, act)
        out, output_backward = self._output_step(X, H)

        def backward(dout: torch.Tensor) -> None:
            dH = output_backward(dout)
            if dH is None:
                return
            if act == "relu":
                dA = torch.ops.aten.threshold_backward(dH, H, 0)
            elif act == "squared_relu":
                dA = torch.ops.aten.threshold_backward(dH * (2 * R), R, 0)
            else:
                dA = torch.ops.aten.tanh_backward(dH, H)
            self._encoder_grads(X, dA)

        return out, backward

    def _dense_step(
        self, X: torch.Tensor, cache: _GraphCache
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], None]] | None:
        """:meth:`step_forward` through the dense compiled kernels, or None.

        Where the neuron-major path does not take the graph, the path that
        :meth:`_hidden` would take (:meth:`_recurrence_path`) when it is the
        dense compiled kernels; None for the others.
        """
        weight = self.weight
        if X.dtype != weight.dtype or self._recurrence_path(cache, X)[0] != "dense":
            return None
        encoder = cast(nn.Linear, self._modules["encoder"])
        act = _ACT_CODES[self.activation]
        mask = cache.mask
        Wm = weight * mask
        A = torch.addmm(encoder.bias, X, encoder.weight.t())
        H, _ = _numba_forward(A, Wm, act, False)
        out, output_backward = self._output_step(X, H)

        def backward(dout: torch.Tensor) -> None:
            dH = output_backward(dout)
            if dH is None:
                return
            dZ, dW = dense_recurrence_backward(
                dH.contiguous(), Wm, H, mask, act, True, weight.requires_grad
            )
            if dW is not None:
                weight.grad = dW
            self._encoder_grads(X, dZ)

        return out, backward

    def _output_step(
        self, X: torch.Tensor, H: torch.Tensor
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor | None]]:
        """The output from ``H`` (decoder and skip map) and its backward.

        The backward sets the decoder's and skip map's gradients and returns
        the gradient of ``H``, or None when no encoder or recurrent weight
        needs one.
        """
        decoder = cast(nn.Linear, self._modules["decoder"])
        skip = self.skip
        out = torch.addmm(decoder.bias, H, decoder.weight.t())
        if skip is not None:
            out = out + torch.mm(X, skip.weight.t())

        def backward(dout: torch.Tensor) -> torch.Tensor | None:
            _set_grad(decoder.weight, lambda: dout.t().mm(H))
            _set_grad(decoder.bias, lambda: dout.sum(0))
            if skip is not None:
                _set_grad(skip.weight, lambda: dout.t().mm(X))
            encoder = cast(nn.Linear, self._modules["encoder"])
            if not (
                encoder.weight.requires_grad
                or encoder.bias.requires_grad
                or self.weight.requires_grad
            ):
                return None
            return dout.mm(decoder.weight)

        return out, backward

    def _encoder_grads(self, X: torch.Tensor, dA: torch.Tensor) -> None:
        """Set the encoder's gradients from ``dA``, that of its output."""
        encoder = cast(nn.Linear, self._modules["encoder"])
        _set_grad(encoder.weight, lambda: dA.t().mm(X))
        _set_grad(encoder.bias, lambda: dA.sum(0))

    def _sparse_step(
        self, X: torch.Tensor, cache: _GraphCache
    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], None]] | None:
        """:meth:`step_forward` through the neuron-major kernels, or None."""
        graph = self._neuron_major_graph(X, cache, True)
        if graph is None:
            return None
        encoder, decoder, skip = self.encoder, self.decoder, self.skip
        weight = self.weight
        X = X.contiguous()
        W = weight.contiguous()
        dec_w = decoder.weight.contiguous()
        act = _ACT_CODES[self.activation]
        out, HT = _sparse_network_forward(
            X, encoder.weight, encoder.bias, W, dec_w, decoder.bias, graph, act
        )
        if skip is not None:
            out = out + torch.mm(X, skip.weight.t())
        params = (encoder.weight, encoder.bias, weight, decoder.weight, decoder.bias)

        def backward(dout: torch.Tensor) -> None:
            needs = (False, *(p.requires_grad for p in params))
            grads = sparse_network_backward(
                dout, X, encoder.weight, W, dec_w, HT, graph, act, needs
            )
            for p, g in zip(params, grads[1:], strict=True):
                if g is not None:
                    p.grad = g
            if skip is not None:
                _set_grad(skip.weight, lambda: dout.t().mm(X))

        return out, backward

    @torch.no_grad()
    def forward_with_preactivations(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Compute ``(forward(X), Z)``: outputs and pre-activations, no gradient.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        out : torch.Tensor of shape (n_samples, n_outputs)
            As :meth:`forward`, in the same pass.
        Z : torch.Tensor of shape (n_samples, k)
            The neurons' pre-activations.
        """
        H, Z = self._hidden(X, True)
        return self._output(H, X), Z

    def _output(self, H: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        out = self.decoder(H)
        if self.skip is not None:
            out = out + self.skip(X)
        return out

    @torch.no_grad()
    def hidden(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(H, Z)``: neuron activations and pre-activations, no gradient.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        H : torch.Tensor of shape (n_samples, k)
            The neurons' activations.
        Z : torch.Tensor of shape (n_samples, k)
            Their pre-activations.
        """
        return self._hidden(X, True)

    @torch.no_grad()
    def preactivations(self, X: torch.Tensor) -> torch.Tensor:
        """Return the neurons' pre-activations, no gradient.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        Z : torch.Tensor of shape (n_samples, k)
            The pre-activations (see :meth:`hidden`).
        """
        return self.hidden(X)[1]

    @torch.no_grad()
    def set_adjacency(self, adjacency: ArrayLike) -> None:
        """Replace the graph; newly added edges get weight 0.

        Because a new edge starts at 0, adding edges never changes the function.
        Removed edges keep their weights, masked.

        Parameters
        ----------
        adjacency : array-like of shape (k, k)
            The new graph, booleans (or 0s and 1s); only strictly lower-triangular
            entries may be set (``adjacency[i, j]`` is the edge ``j -> i``).
        """
        G = torch.as_tensor(
            initial_adjacency(self.k, np.asarray(adjacency)),
            device=self.adjacency.device,
        )
        added = G & ~self.adjacency
        self.weight[added] = 0
        self.adjacency.copy_(G)
        self.__dict__["_graph_cache"] = None

    @torch.no_grad()
    def revive_neurons(
        self,
        neurons: ArrayLike,
        X: torch.Tensor | None = None,
        batch_size: int = 4096,
        generator: torch.Generator | None = None,
    ) -> None:
        """Re-draw the incoming weights of ``neurons`` and zero their outgoing ones.

        For each neuron ``i`` in the boolean mask or index array ``neurons``: its
        encoder row and bias are drawn uniform in ``+-sqrt(6 / (d + k))`` (the
        Glorot bound of the encoder) and its incoming recurrent weights
        ``W[i, :]`` uniform in ``+-1/sqrt(n_in)`` as in
        :meth:`reset_recurrent_weights`; its outgoing weights (``W[:, i]`` and
        the decoder's column ``i``) are set to 0. A dead ReLU neuron outputs 0,
        so the network's function does not change, but its outgoing weights get
        gradients again (the ReDo recipe of Sokar et al., 2023). With rows ``X``,
        each bias is then shifted so that the neuron's pre-activation has median
        0 on ``X``: the neuron fires on half of those rows (a random draw alone
        can leave it silent). The graph is unchanged.

        Parameters
        ----------
        neurons : array-like of shape (k,) of bool, or of int
            The neurons to revive: a boolean mask or their indices.
        X : torch.Tensor of shape (n_samples, n_features) or None, default=None
            Rows on which to centre the revived neurons' pre-activations; None
            leaves the biases as drawn.
        batch_size : int, default=4096
            Rows of ``X`` per forward pass.
        generator : torch.Generator or None, default=None
            Source of the draws (on the module's device); None: torch's global
            generator.
        """
        idx = torch.as_tensor(np.flatnonzero(_neuron_mask(neurons, self.k)))
        if idx.numel() == 0:
            return
        idx = idx.to(self.weight.device)
        enc = self.encoder
        bound = (6.0 / (enc.in_features + enc.out_features)) ** 0.5
        gen = generator
        enc.weight[idx] = torch.empty_like(enc.weight[idx]).uniform_(
            -bound, bound, generator=gen
        )
        enc.bias[idx] = torch.empty_like(enc.bias[idx]).uniform_(
            -bound, bound, generator=gen
        )
        fan_in = self.adjacency[idx].sum(dim=1).clamp(min=1).to(self.weight.dtype)
        rows = torch.empty_like(self.weight[idx]).uniform_(-1.0, 1.0, generator=gen)
        self.weight[idx] = rows / fan_in.sqrt().unsqueeze(1)
        self.weight[:, idx] = 0
        self.decoder.weight[:, idx] = 0
        if X is not None and len(X):
            # Revived neurons feed nothing, so their biases move only their own z.
            Z = torch.cat(
                [
                    self.hidden(X[start : start + batch_size])[1][:, idx]
                    for start in range(0, len(X), batch_size)
                ]
            )
            enc.bias[idx] -= Z.median(dim=0).values

    @torch.no_grad()
    def active_start(
        self,
        X: torch.Tensor,
        y: torch.Tensor | None = None,
        sample_weight: torch.Tensor | None = None,
        margin: float = ACTIVE_MARGIN,
    ) -> None:
        """Shift biases so every neuron starts active; optionally fit the outputs.

        Neurons are visited in order (neuron ``i`` reads neurons ``j < i``):
        neuron ``i``'s encoder bias is raised by ``max(0, margin - min_n z_i)``,
        so that its pre-activation is at least ``margin`` on every row of ``X``.
        Then, given targets ``y`` of shape ``(n, n_outputs)``, the decoder, its
        bias and the skip map are set to the (``sample_weight``-weighted)
        least-squares fit of ``y`` on the hidden activations (and the inputs).

        The fit is solved in float64 and truncated at the module's precision:
        directions of the features whose singular values are below the module
        dtype's rounding (``finfo(dtype).eps`` times the largest, times the
        number of rows or columns) are left out. In exact arithmetic a ReLU
        network with every neuron active is affine, so its features span few
        directions; float32 rounding fills the rest with noise that an untruncated
        solve fits with huge, cancelling weights, which the module cannot apply
        in its own precision.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            Training inputs.
        y : torch.Tensor of shape (n_samples, n_outputs) or None, default=None
            Targets of the least-squares output fit; None shifts the biases only.
        sample_weight : torch.Tensor of shape (n_samples,) or None, default=None
            Row weights of the fit; None weighs every row equally.
        margin : float, default=0.1
            The smallest pre-activation every neuron gets on ``X``.
        """
        A = self.encoder(X)
        Wm = self.masked_weight()
        H = torch.zeros_like(A)
        for i in range(self.k):
            z = A[:, i] + H[:, :i] @ Wm[i, :i]
            shift = torch.clamp(margin - z.min(), min=0.0)
            self.encoder.bias[i] += shift
            H[:, i] = apply_activation(z + shift, self.activation)
        if y is None:
            return
        H = self.hidden(X)[0]
        blocks = [self.decoder.weight]
        if self.skip is not None:
            H = torch.cat([H, X], dim=1)
            blocks.append(self.skip.weight)
        F = torch.cat([H, torch.ones_like(H[:, :1])], dim=1).cpu().double().numpy()
        Y = y.cpu().double().numpy().reshape(len(F), -1)
        w = (
            np.ones(len(F))
            if sample_weight is None
            else sample_weight.cpu().double().numpy()
        )
        eps = float(torch.finfo(self.weight.dtype).eps)
        sol = _weighted_lstsq(F, Y, w, rcond=eps * max(F.shape))
        if not np.isfinite(sol).all():  # pragma: no cover - keep torch's start
            return
        param = self.weight
        solution = torch.as_tensor(sol, dtype=param.dtype, device=param.device)
        start = 0
        for weight in blocks:
            weight.copy_(solution[start : start + weight.shape[1]].T)
            start += weight.shape[1]
        self.decoder.bias.copy_(solution[-1])

    def __getstate__(self) -> dict:
        # The graph cache is derived data tied to this object's buffer: not pickled.
        state = self.__dict__.copy()
        state["_graph_cache"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.__dict__.setdefault("_graph_cache", None)

    def n_edges(self) -> int:
        """Return the number of edges in the graph.

        Returns
        -------
        n_edges : int
            The edges ``j -> i`` set in ``adjacency``.
        """
        return int(self.adjacency.sum())

    def extra_repr(self) -> str:
        """Return the module's summary in its ``repr``.

        Returns
        -------
        text : str
            ``k``, the activation, the number of edges and whether there is a skip
            map.
        """
        return (
            f"k={self.k}, activation={self.activation!r}, edges={self.n_edges()}, "
            f"skip={self.skip is not None}"
        )


def _set_grad(param: torch.Tensor, grad: Callable[[], torch.Tensor]) -> None:
    """Set ``param.grad`` to ``grad()`` when ``param`` requires a gradient."""
    if param.requires_grad:
        param.grad = grad()


def _neuron_mask(neurons: ArrayLike, k: int) -> np.ndarray:
    """A boolean mask of ``k`` neurons from a mask or an array of indices."""
    arr = np.asarray(neurons)
    if arr.dtype == bool:
        if arr.shape != (k,):
            raise ValueError(f"a neuron mask must have shape ({k},), got {arr.shape}")
        return arr
    mask = np.zeros(k, dtype=bool)
    mask[arr.astype(np.intp)] = True
    return mask


def n_parameters(
    n_features: int, k: int, n_outputs: int, n_edges: int, skip: bool
) -> int:
    """Count the effective parameters of a FreeNet (edges in the graph only).

    Parameters
    ----------
    n_features : int
        Input dimension.
    k : int
        Number of neurons.
    n_outputs : int
        Output dimension.
    n_edges : int
        Edges in the graph (each one recurrent weight).
    skip : bool
        Whether the net has the linear skip map (no bias) from input to output.

    Returns
    -------
    n_params : int
        Encoder weights and biases, the edges, decoder weights and biases, and the
        skip map's weights.
    """
    return (
        (n_features + 1) * k
        + n_edges
        + (k + 1) * n_outputs
        + (n_features * n_outputs if skip else 0)
    )


def _linear(n_in: int, n_out: int, bias: bool, dtype: torch.dtype) -> nn.Linear:
    """An ``nn.Linear`` whose weights are allocated but not drawn.

    Built on the meta device and then given real (uninitialised) storage, so that
    constructing it draws nothing from torch's global generator;
    :meth:`FreeNetModule.reset_parameters` draws the weights.
    """
    layer = nn.Linear(n_in, n_out, bias=bias, dtype=dtype, device="meta")
    return layer.to_empty(device="cpu")


def _torch_linear_init(layer: nn.Linear, gen: torch.Generator | None) -> None:
    """PyTorch's ``nn.Linear`` default, drawn from ``gen``.

    The same bounds as ``nn.Linear.reset_parameters`` (Kaiming uniform with
    ``a = sqrt(5)``, so ``+-1/sqrt(fan_in)``, for weights and bias), computed the
    way torch computes them, so the draws are bit for bit PyTorch's.
    """
    fan_in = layer.weight.shape[1]
    gain = nn.init.calculate_gain("leaky_relu", math.sqrt(5))
    bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in))
    layer.weight.uniform_(-bound, bound, generator=gen)
    if layer.bias is not None:
        bias_bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        layer.bias.uniform_(-bias_bound, bias_bound, generator=gen)


def _glorot_linear_init(layer: nn.Linear, gen: torch.Generator | None) -> None:
    """scikit-learn's MLP initialisation: uniform in ``+-sqrt(6 / (in + out))``."""
    fan_out, fan_in = layer.weight.shape
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    layer.weight.uniform_(-bound, bound, generator=gen)
    if layer.bias is not None:
        layer.bias.uniform_(-bound, bound, generator=gen)


def _weighted_lstsq(
    F: np.ndarray, Y: np.ndarray, w: np.ndarray, rcond: float | None = None
) -> np.ndarray:
    """Least squares of ``Y`` on ``F`` with row weights ``w`` (SVD, ``rcond``)."""
    root = np.sqrt(w)[:, None]
    sol, *_ = np.linalg.lstsq(F * root, Y * root, rcond=rcond)
    return sol
