//! Collecting the reasons found for a risk level, one per code.

use super::{AttachmentRisk, RiskLevel, RiskReason};
use crate::text;

/// Reasons found so far, one per code, each with its level.
#[derive(Debug, Default)]
pub(super) struct Findings {
    reasons: Vec<(RiskLevel, RiskReason)>,
}

impl Findings {
    /// Adds a reason; for a code already present, keeps the higher level
    /// (with its message).
    pub(super) fn add(&mut self, level: RiskLevel, code: &'static str, message: String) {
        if let Some(existing) = self.reasons.iter_mut().find(|(_, r)| r.code == code) {
            if level > existing.0 {
                *existing = (level, RiskReason { code, message });
            }
        } else {
            self.reasons.push((level, RiskReason { code, message }));
        }
    }

    pub(super) fn merge(&mut self, other: Findings) {
        for (level, reason) in other.reasons {
            self.add(level, reason.code, reason.message);
        }
    }

    pub(super) fn into_risk(mut self) -> AttachmentRisk {
        // Stable: equal levels keep the order they were found in.
        self.reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        AttachmentRisk {
            level: self
                .reasons
                .first()
                .map_or(RiskLevel::Low, |(level, _)| *level),
            reasons: self.reasons.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

/// `name` made safe to quote in a message: no control or direction
/// characters, at most 80 characters.
pub(super) fn quoted(name: &str) -> String {
    let safe = text::terminal_safe(name);
    let mut out: String = safe.chars().take(80).collect();
    if safe.chars().nth(80).is_some() {
        out.push('…');
    }
    format!("\u{201c}{out}\u{201d}")
}
