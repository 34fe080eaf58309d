import { useEffect, useState } from 'react';

interface Props {
  label: string;
  value: number;
  onChange(value: number): void;
  integer?: boolean;
  min?: number;
  disabled?: boolean;
  title?: string;
  testId?: string;
}

/** A number input that keeps the text while it is being typed ("1e-") and commits valid values. */
export function NumberField({ label, value, onChange, integer, min = 0, disabled, title, testId }: Props) {
  const [text, setText] = useState(String(value));
  useEffect(() => setText((t) => (Number(t) === value ? t : String(value))), [value]);
  const valid = (n: number) => Number.isFinite(n) && n >= min && (!integer || Number.isInteger(n));
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
        onChange={(e) => {
          setText(e.target.value);
          const n = Number(e.target.value);
          if (e.target.value.trim() !== '' && valid(n)) onChange(n);
        }}
      />
    </label>
  );
}
