import { useState } from 'react';

interface Props {
  label: string;
  value: number;
  onChange(value: number): void;
  integer?: boolean;
  min?: number;
  max?: number;
  disabled?: boolean;
  title?: string;
  testId?: string;
}

/** A number input that keeps the text while it is being typed ("1e-") and commits valid values. */
export function NumberField({ label, value, onChange, integer, min = 0, max = Infinity, disabled, title, testId }: Props) {
  // The text being typed, until the field loses focus; otherwise the store's value is shown.
  const [draft, setDraft] = useState<string | null>(null);
  const text = draft ?? String(value);
  const valid = (n: number) => Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n));
  const invalid = text.trim() === '' || !valid(Number(text));
  return (
    <label className="field" title={title}>
      <span>{label}</span>
      <input
        type="text"
        inputMode={integer ? 'numeric' : 'decimal'}
        value={text}
        disabled={disabled}
        aria-invalid={invalid}
        data-testid={testId}
        onBlur={() => setDraft(null)}
        onChange={(e) => {
          setDraft(e.target.value);
          const n = Number(e.target.value);
          if (e.target.value.trim() !== '' && valid(n)) onChange(n);
        }}
      />
    </label>
  );
}
