import { Component, type ErrorInfo, type ReactNode } from 'react';
import { useErrors } from '../store/errors.ts';

export function Errors() {
  const errors = useErrors((s) => s.errors);
  const dismiss = useErrors((s) => s.dismiss);
  if (errors.length === 0) return null;
  return (
    <ul className="errors" data-testid="errors">
      {errors.map((e) => (
        <li key={e.id} role="alert" data-testid="error">
          <span>{e.message}</span>
          <button aria-label="Dismiss" onClick={() => dismiss(e.id)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

/** A failing panel shows its error and a retry instead of blanking the whole studio. */
export class ErrorBoundary extends Component<{ name: string; children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    useErrors.getState().report('ui', `The ${this.props.name} panel failed: ${error.message}`);
    console.error(error, info.componentStack);
  }

  override render() {
    if (!this.state.failed) return this.props.children;
    return (
      <section className="panel">
        <p>The {this.props.name} panel failed (see the messages above).</p>
        <button onClick={() => this.setState({ failed: false })}>Try again</button>
      </section>
    );
  }
}
