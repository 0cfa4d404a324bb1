"""Operations: retention, key rotation and failure notices."""
