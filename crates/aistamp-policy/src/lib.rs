//! WARN and BLOCK policy rules for aistamp records.
