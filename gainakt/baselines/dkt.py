"""Deep Knowledge Tracing (Piech et al. 2015): an LSTM over (skill, response) interactions whose
output layer gives one logit per skill; the logit of the next skill is the prediction."""
from __future__ import annotations

from torch import nn


class DKT(nn.Module):
    def __init__(self, num_skills: int, hidden: int, dropout: float):
        super().__init__()
        self.C = num_skills
        self.embed = nn.Embedding(2 * num_skills, hidden)      # interaction id q + C * r
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, num_skills)

    def forward(self, q, r, q_next):
        """q, r, q_next: [B, T] -> logits of a correct answer at t+1, [B, T]. Causal, so the
        right padding of a window never reaches its real steps."""
        h, _ = self.lstm(self.embed(q + self.C * r))
        return self.out(self.drop(h)).gather(2, q_next.unsqueeze(2)).squeeze(2)
