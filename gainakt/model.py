"""GainAKT3Exp: two independent transformer encoders and a per-skill sigmoid learning curve.

Encoder 1 (performance path) predicts the next response from context, value and the embedding of
the query skill. Encoder 2 (interpretability path) turns each interaction into learning gains;
their cumulative sum is the effective practice, which a per-skill sigmoid learning curve maps to
mastery; mastery against a threshold gives the second prediction:

    practice[t, s] = sum_{t' <= t} gain[t', s]                      (only t' with q_t' = s when
                                                                      accumulate = "practised")
    mastery[t, s]  = M_sat[s] * sigmoid(beta[s] * gamma[u] * practice[t, s] - offset)
                     (curve_form "linear": the tangent at practice 0, no saturation)
    p_im[t]        = sigmoid((mastery[t, k_t] - clamp(theta, 0, 1)) / T)

k_t is q_t (as run) or q_{t+1} (as intended). The encoders and the practice sums are in
`gainakt.layers`. Shapes: B batch, T steps, C skills, D d_model.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import Config
from .layers import Dropout, Encoder, practice_gather
from .packing import Packing


# The learning-curve scalars (parameter names): Config.curve_lr_multiplier sets their learning rate.
CURVE_PARAMETERS = ("beta_skill", "M_sat", "gamma_student", "theta_global", "offset", "skill_bias",
                    "log_temperature", "skill_gain")

# Per-skill gain activations (Config.gain_activation): the original's sigmoid bounds a gain in (0, 1).
_ACTIVATIONS = {"sigmoid": torch.sigmoid, "softplus": F.softplus, "tanh": torch.tanh}


class GainAKT3Exp(nn.Module):
    """The dual-encoder model with every audit switch of `Config`.

    `skill_difficulty` [C] is used by V4 (divide gains) and V5 (projection input).
    """

    def __init__(self, cfg: Config, num_skills: int, num_students: int,
                 skill_difficulty: Tensor | None = None):
        super().__init__()
        cfg = cfg.effective()
        self.cfg, self.C = cfg, num_skills
        C, d = num_skills, cfg.d_model
        # Encoder 1
        self.enc1 = Encoder(C, cfg)
        self.skill_emb1 = nn.Embedding(C, d)
        self.head1 = nn.Sequential(nn.Linear(3 * d, cfg.d_ff), nn.ReLU(), Dropout(cfg.dropout),
                                   nn.Linear(cfg.d_ff, 1))
        # Encoder 2
        self.enc2 = Encoder(C, cfg)
        in_dim = d + (C if cfg.difficulty_mode == "input" else 0)
        self.gains_projection = nn.Linear(in_dim, C) if cfg.gain_mode == "per_skill" else None
        if self.gains_projection is not None and cfg.gains_projection_bias_std > 0:
            with torch.no_grad():
                self.gains_projection.bias.normal_(0.0, cfg.gains_projection_bias_std)
                if cfg.gains_projection_orthogonal:
                    nn.init.orthogonal_(self.gains_projection.weight)
                    self.gains_projection.weight.mul_(cfg.gains_projection_orthogonal_scale)
        # Learning curve
        beta = torch.full((C,), cfg.beta_skill_init)
        if cfg.beta_init_std > 0:
            beta = (beta + torch.randn(C) * cfg.beta_init_std).clamp(0.5, 5.0)
        self.beta_skill = nn.Parameter(beta)
        self.M_sat = nn.Parameter(torch.full((C,), cfg.m_sat_init))
        g0 = cfg.gamma_student_init
        if cfg.gamma_positive:   # the softplus's inverse: gamma starts at gamma_student_init either way
            g0 = g0 + math.log(-math.expm1(-g0))
        self.gamma_student = nn.Parameter(torch.full((max(num_students, 1),), g0))
        # [S] which gamma rows belong to students seen in training (set by the trainer; not saved)
        self.register_buffer("gamma_trained", torch.ones(max(num_students, 1), dtype=torch.bool),
                             persistent=False)
        self.theta_global = nn.Parameter(torch.tensor(cfg.mastery_threshold_init))
        self.offset = nn.Parameter(torch.tensor(cfg.sigmoid_offset))
        # corrected-model options (V6): created only when switched on, so other runs' state is unchanged
        if cfg.skill_intercept:
            self.skill_bias = nn.Parameter(torch.zeros(C))
        if cfg.gain_source == "skill":   # one gain per skill (pre-activation), 0 = the projection's start
            self.skill_gain = nn.Parameter(torch.zeros(C))
        if cfg.learn_temperature:
            self.log_temperature = nn.Parameter(torch.tensor(math.log(cfg.threshold_temperature)))
        diff = torch.ones(C) if skill_difficulty is None else torch.as_tensor(skill_difficulty, dtype=torch.float32)
        self.register_buffer("skill_difficulty", diff.clone())

    # ------------------------------------------------------------------------------------
    def gamma(self, students: Tensor | None, mode: str) -> Tensor:
        """[B] learning speed of each student (mean gamma when mode == 'mean' or ids missing).

        unseen_student_gamma "trained_mean": the mean is over trained students' rows and a student
        absent from training gets that mean; "own" (as run): every row counts and is used as is.
        """
        trained_mean = self.cfg.unseen_student_gamma == "trained_mean"
        g = self.student_gammas()
        mean = g[self.gamma_trained].mean() if trained_mean else g.mean()
        if students is None or mode == "mean":
            return mean.expand(1 if students is None else students.shape[0])
        if trained_mean:
            return torch.where(self.gamma_trained[students], g[students], mean)
        return g[students]

    def student_gammas(self) -> Tensor:
        """[S] every student's gamma as the curve uses it (softplus of the parameter with gamma_positive)."""
        return F.softplus(self.gamma_student) if self.cfg.gamma_positive else self.gamma_student

    def curve(self) -> tuple[Tensor, Tensor]:
        """(beta [C], M_sat [C]) as the learning curve uses them. With `shared_curve` each is one
        value for every skill (the mean of its [C] parameter: the entries get the same gradient, so
        entries that start equal stay equal and every per-skill table keeps its shape)."""
        if self.cfg.shared_curve:
            return self.beta_skill.mean().expand(self.C), self.M_sat.mean().expand(self.C)
        return self.beta_skill, self.M_sat

    def gain_parameters(self) -> list[nn.Parameter]:
        """The parameters the per-skill gains come from (the gains projection, or the per-skill
        gains of `gain_source` "skill"); [] in scalar mode. Diagnostics measure gradients here."""
        if self.cfg.gain_source == "skill" and self.gains_projection is not None:
            return [self.skill_gain]
        return [] if self.gains_projection is None else list(self.gains_projection.parameters())

    def _gains(self, v2: Tensor, velocity: Tensor | None) -> Tensor:
        """Per-skill gains [..., C] from the value stream v2 [..., D] (velocity [...])."""
        cfg = self.cfg
        x = v2
        if cfg.difficulty_mode == "input":
            # constant over batch and time, exactly as V5 fed it
            x = torch.cat([v2, self.skill_difficulty.expand(*v2.shape[:-1], self.C)], dim=-1)
        if cfg.gain_source == "skill":   # the context is ignored: a per-skill rate, as AFM's
            pre = self.skill_gain.expand(*v2.shape[:-1], self.C)
        else:
            pre = self.gains_projection(x)
        return self._activate(pre, self.skill_difficulty, None if velocity is None else velocity.unsqueeze(-1))

    def _activate(self, pre: Tensor, difficulty: Tensor, velocity: Tensor | None) -> Tensor:
        """Gains from pre-activations: the activation, V4's division by difficulty, the velocity
        (difficulty and velocity broadcast against `pre`)."""
        cfg = self.cfg
        g = _ACTIVATIONS[cfg.gain_activation](pre)
        if cfg.difficulty_mode == "scale_after":
            g = g / difficulty
        if cfg.use_student_velocity and velocity is not None:
            g = g * velocity
        return g

    def _gain_at(self, v2: Tensor, q: Tensor, velocity: Tensor | None) -> Tensor:
        """The gain of each interaction for its own skill only, [N] from v2 [N, D] and q [N]: the
        projection's row q of weight and bias instead of all C outputs (`gains_impl` "practised").
        `_gains(...).gather(q)` up to float rounding (a dot product in place of a matmul)."""
        cfg = self.cfg
        if cfg.gain_source == "skill":
            pre = self.skill_gain[q]
        else:
            proj = self.gains_projection
            pre = (v2 * proj.weight[q]).sum(-1) + proj.bias[q]
        return self._activate(pre, self.skill_difficulty[q], velocity)

    def _packed_gains(self, pk: Packing, v2: Tensor, scalar: Tensor, q: Tensor, k: Tensor,
                      velocity: Tensor | None, states: bool):
        """Gains from Encoder 2's real positions (v2 [N, D], scalar [N]) as [B, T] tensors, 0 at
        padding: (scalar [B, T], skill_gains [B, T, C] or None, gain_q [B, T], practice_q [B, T] or
        None). Without `states` practice is summed over each window's real positions only (all
        skills: `Packing.segment_cumsum`; the practised one: `practice_gather` over the packed rows)
        and the [B, T, C] gains are made only for a loss that reads them."""
        cfg = self.cfg
        vel = None if velocity is None else pk.real(velocity)
        others_read = (states or cfg.accumulate == "all_skills" or cfg.practice_impl == "dense"
                       or cfg.variance_loss_weight or cfg.skill_contrastive_loss_weight
                       or cfg.difficulty_mode == "input")
        g = None
        if cfg.gain_mode == "scalar":
            gq = scalar
        elif cfg.gains_impl == "practised" and not others_read:   # no [N, C] tensor at all
            gq = self._gain_at(v2, pk.real(q), vel)
        else:
            g = self._gains(v2, vel)
            gq = g.gather(1, pk.real(q).unsqueeze(1)).squeeze(1)   # [N]
        practice_q = None
        if not states and cfg.accumulate == "all_skills":
            src = g if g is not None else gq.unsqueeze(1).expand(-1, self.C)
            practice_q = pk.scatter(pk.segment_cumsum(src).gather(1, pk.real(k).unsqueeze(1)).squeeze(1))
        elif not states and cfg.practice_impl == "auto":  # practised skill only: within each window
            same = (pk.pack(k).unsqueeze(2) == pk.pack(q).unsqueeze(1)) & pk.attn_mask[:, 0]   # [R, S, S]
            summed = torch.bmm(same.to(gq.dtype), pk.pack(pk.scatter(gq)).unsqueeze(2)).squeeze(2)
            practice_q = pk.scatter(pk.gather(summed))
        needed = states or practice_q is None or cfg.variance_loss_weight or cfg.skill_contrastive_loss_weight
        skill_gains = pk.scatter(g) if g is not None and needed else None
        return pk.scatter(scalar), skill_gains, pk.scatter(gq), practice_q

    def forward(self, q: Tensor, r: Tensor, q_next: Tensor, students: Tensor | None = None,
                velocity: Tensor | None = None, gamma_mode: str | None = None,
                states: bool = False, mask: Tensor | None = None) -> dict[str, Tensor]:
        """q, r, q_next: [B, T] long; students: [B]; velocity: [B, T] or None; mask: [B, T] real
        targets (a prefix per window), used with `batching="packed"` to pack the encoders' input.

        Returns logits_enc1/p_enc1 [B, T], logits_im/p_im [B, T], mastery_q [B, T] (mastery of
        the skill the IM head reads), practice_q [B, T], scalar_gains [B, T] (the legacy tensor
        the original analysed), skill_gains [B, T, C] (per-skill mode) and gain_q [B, T] (the
        gain of each interaction for its own skill). With `states`, also mastery [B, T, C],
        slope [B, T, C] (d mastery / d practice) and slope_q [B, T] (the read-out skill's slope).
        Packed (`batching="packed"` and a mask): the same values at real positions; logits_enc1,
        scalar and per-skill gains are 0 at padding, except when the regularisers read padding
        gains (as run V2-V5), for which Encoder 2 runs on the padded batch (its context stream's
        last feed-forward skipped: nothing reads it).
        """
        cfg = self.cfg
        tokens = q + self.C * r
        # --- Encoder 1
        query1 = q_next if cfg.enc1_query == "next" else q
        pk = Packing.from_mask(mask) if cfg.batching == "packed" and mask is not None else None
        if pk is None:
            ctx1, val1 = self.enc1(tokens)
            logits1 = self.head1(torch.cat([ctx1, val1, self.skill_emb1(query1)], -1)).squeeze(-1)
        else:  # Encoder 1's outputs at padding are never read (its BCE masks them)
            ctx1, val1 = self.enc1(tokens, pk)
            h = torch.cat([pk.gather(ctx1), pk.gather(val1), self.skill_emb1(pk.real(query1))], -1)
            logits1 = pk.scatter(self.head1(h).squeeze(-1))
        # --- Encoder 2
        pk2 = None  # set when Encoder 2 runs packed
        if pk is None:
            _, v2 = self.enc2(tokens)
        elif cfg.regularisers_see_padding:  # they average over every padded position: compute all
            _, v2 = self.enc2(tokens, need_ctx=False)
        else:
            pk2 = pk
            v2 = pk.gather(self.enc2(tokens, pk, need_ctx=False)[1])  # [N, D]
        scalar = torch.sigmoid(F.relu(v2).mean(-1))  # [B, T]: legacy 'projected_gains'
        k = q_next if cfg.mastery_index == "next" else q   # skill whose mastery feeds p_im
        skill_gains = practice_q = None
        if pk2 is not None:  # from the real positions [N] back to [B, T], 0 at padding
            scalar, skill_gains, gain_q, practice_q = self._packed_gains(pk2, v2, scalar, q, k, velocity, states)
        elif cfg.gain_mode == "scalar":
            gain_q = scalar
        else:
            skill_gains = self._gains(v2, velocity)
            gain_q = skill_gains.gather(2, q.unsqueeze(2)).squeeze(2)
        out: dict[str, Tensor] = dict(logits_enc1=logits1, p_enc1=torch.sigmoid(logits1),
                                      scalar_gains=scalar, gain_q=gain_q)
        if skill_gains is not None:
            out["skill_gains"] = skill_gains
        if pk is not None and practice_q is None and not states and cfg.accumulate == "all_skills":
            # Encoder 2 padded for the regularisers; practice only at the real positions
            src = pk.real(skill_gains if skill_gains is not None else gain_q.unsqueeze(-1).expand(-1, -1, self.C))
            practice_q = pk.scatter(pk.segment_cumsum(src).gather(1, pk.real(k).unsqueeze(1)).squeeze(1))
        dense = states or cfg.practice_impl == "dense"
        if practice_q is not None:
            practice = None
        elif cfg.accumulate == "all_skills":
            practice = torch.cumsum(skill_gains if skill_gains is not None
                                    else gain_q.unsqueeze(-1).expand(-1, -1, self.C), dim=1)
        elif dense:
            onehot = F.one_hot(q, self.C).to(gain_q.dtype)
            practice = torch.cumsum(onehot * gain_q.unsqueeze(-1), dim=1)  # [B, T, C]
        else:
            practice = None
        if practice is not None:
            practice_q = practice.gather(2, k.unsqueeze(2)).squeeze(2)
        elif practice_q is None:
            practice_q = practice_gather(gain_q, q, k)
        gamma = self.gamma(students, gamma_mode or cfg.gamma_mode)  # [B]
        beta, msat = self.curve()
        beta_k, msat_k = beta[k], msat[k]
        sig_q = torch.sigmoid(beta_k * gamma[:, None] * practice_q - self.offset)
        clamp = (lambda x: x.clamp(0, 1)) if cfg.readout_clamps else (lambda x: x)
        linear = cfg.curve_form == "linear"
        if linear:   # the sigmoid curve's tangent at practice 0: start sig0, slope M_sat d0 beta gamma
            sig0 = torch.sigmoid(-self.offset)
            d0 = sig0 * (1 - sig0)
            mastery_q = clamp(msat_k * (sig0 + d0 * beta_k * gamma[:, None] * practice_q))
        else:
            mastery_q = clamp(msat_k * sig_q)
        temperature = self.log_temperature.exp() if cfg.learn_temperature else cfg.threshold_temperature
        logits_im = (mastery_q - clamp(self.theta_global)) / temperature
        if cfg.skill_intercept:
            logits_im = logits_im + self.skill_bias[k]
        out.update(mastery_q=mastery_q, practice_q=practice_q, logits_im=logits_im,
                   p_im=torch.sigmoid(logits_im))
        if states:
            # d mastery_q / d practice_q: the slope of the read-out skill's learning curve
            if linear:
                out["slope_q"] = (msat_k * d0 * beta_k * gamma[:, None]).expand_as(practice_q)
                bg = beta * gamma[:, None, None]  # [B, 1, C]
                out["mastery"] = clamp(msat * (sig0 + d0 * bg * practice))
                out["slope"] = (msat * d0 * bg).expand_as(practice)
            else:
                out["slope_q"] = msat_k * sig_q * (1 - sig_q) * beta_k * gamma[:, None]
                u = beta * gamma[:, None, None] * practice - self.offset  # [B, T, C]
                sig = torch.sigmoid(u)
                out["mastery"] = clamp(msat * sig)
                out["slope"] = msat * sig * (1 - sig) * beta * gamma[:, None, None]
        return out
