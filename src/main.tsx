import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startStudio } from './store/studio.ts';
import { App } from './ui/App.tsx';
import './ui/styles.css';

startStudio();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
